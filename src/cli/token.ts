/**
 * `npm run -s token -- someone@example.com` prints a dev Hanko session token for that user,
 * signed with the same key the embedded server publishes (read from DATA_DIR), so it can be
 * pasted into `Authorization: Bearer …`. stdout carries the token and nothing else, which makes
 * `TOKEN=$(npm run -s token -- a@b.c)` work; everything else goes to stderr.
 *
 * Exit codes: 0 token printed · 1 refused (real Hanko configured, production, bad config) ·
 * 2 usage (missing or invalid email).
 */
import { loadConfig, usesEmbedded } from "../config";
import { DevHankoIssuer, DevIssuerInputError, normalizeEmail } from "../dev/hanko-issuer";
import { CommandError, runIfMain, type CliCommand } from "./run";

const USAGE = `usage: npm run -s token -- <email>
       npm run -s token -- --webhook <event> <email> [<new primary email>]
  prints a dev Hanko session token for <email>, or a webhook token for <event> about that user
  (the body to POST to /webhooks/hanko is {"token": "<it>", "event": "<event>"}); embedded Hanko only`;

const command: CliCommand = {
  usage: USAGE,
  prefix: "token: ",
  configErrorExit: 1,
  async run(argv, io) {
    if (argv.length === 1 && (argv[0] === "-h" || argv[0] === "--help")) {
      io.out(USAGE);
      return 0;
    }
    const webhook = argv[0] === "--webhook";
    if (webhook ? argv.length < 3 || argv.length > 4 : argv.length !== 1) {
      io.err(USAGE);
      return 2;
    }
    let email: string;
    let primaryEmail: string | undefined;
    try {
      email = normalizeEmail(webhook ? argv[2] : argv[0]);
      if (webhook && argv[3] !== undefined) primaryEmail = normalizeEmail(argv[3]);
    } catch (error) {
      if (!(error instanceof DevIssuerInputError)) throw error;
      io.err(`token: ${error.message}\n${USAGE}`);
      return 2;
    }

    const config = loadConfig();
    if (config.nodeEnv === "production") throw new CommandError("refused when NODE_ENV=production (dev tokens are for development only)");
    if (!usesEmbedded.hanko(config)) throw new CommandError("HANKO_API_URL is set, so sessions come from that Hanko; sign in there instead");

    const issuer = await DevHankoIssuer.load({ dataDir: config.dataDir, audience: config.hanko.audience, issuer: config.hanko.issuer });
    if (webhook) {
      try {
        io.out(await issuer.issueUserWebhookToken({ event: argv[1]!, email, ...(primaryEmail ? { primaryEmail } : {}) }));
      } catch (error) {
        if (!(error instanceof DevIssuerInputError)) throw error;
        io.err(`token: ${error.message}\n${USAGE}`);
        return 2;
      }
      return 0;
    }
    io.out(await issuer.issueSessionToken({ email }));
    return 0;
  },
};

runIfMain(module, command);
