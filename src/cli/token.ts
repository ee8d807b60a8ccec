/**
 * `npm run -s token -- someone@example.com` prints a dev Hanko session token for that user,
 * signed with the same key the embedded server publishes (read from DATA_DIR), so it can be
 * pasted into `Authorization: Bearer …`. stdout carries the token and nothing else, which makes
 * `TOKEN=$(npm run -s token -- a@b.c)` work; everything else goes to stderr.
 *
 * Exit codes: 0 token printed · 1 refused (real Hanko configured, production, bad config) ·
 * 2 usage (missing or invalid email).
 */
import { ConfigError, loadConfig, usesEmbedded } from "../config";
import type { Config } from "../config";
import { DevHankoIssuer, DevIssuerInputError, normalizeEmail } from "../dev/hanko-issuer";

const USAGE = "usage: npm run -s token -- <email>\n  prints a dev Hanko session token for <email> (embedded Hanko only)\n";

async function main(argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && (argv[0] === "-h" || argv[0] === "--help")) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (argv.length !== 1) {
    process.stderr.write(USAGE);
    return 2;
  }
  let email: string;
  try {
    email = normalizeEmail(argv[0]);
  } catch (error) {
    if (!(error instanceof DevIssuerInputError)) throw error;
    process.stderr.write(`token: ${error.message}\n${USAGE}`);
    return 2;
  }

  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`token: ${error.message}\n`);
    return 1;
  }
  if (config.nodeEnv === "production") {
    process.stderr.write("token: refused when NODE_ENV=production (dev tokens are for development only)\n");
    return 1;
  }
  if (!usesEmbedded.hanko(config)) {
    process.stderr.write("token: HANKO_API_URL is set, so sessions come from that Hanko; sign in there instead\n");
    return 1;
  }

  const issuer = await DevHankoIssuer.load({
    dataDir: config.dataDir,
    audience: config.hanko.audience,
    issuer: config.hanko.issuer,
  });
  process.stdout.write(`${await issuer.issueSessionToken({ email })}\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code: number) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`token: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
