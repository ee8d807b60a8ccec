/**
 * `npm run permit:apply [-- --prune | --dry-run | --preview …]`: pushes the policy of policy.ts to
 * the Permit environment named by PERMIT_API_KEY / PERMIT_PDP_URL / PERMIT_API_URL, and records
 * what it changed in the policy history (permit/policy-history.ts). `--dry-run` prints the
 * schema diff; `--preview` prints whose access would change (permit/policy-impact.ts). Neither
 * writes anything; both also work against the embedded PDP of a running `npm start`.
 *
 * Exit codes: 0 applied (or nothing to do; a preview or dry run whatever it found), 1 failed,
 * 2 usage or configuration, 3 `--preview --fail-on-loss` found access that would be lost.
 */
import { userInfo } from "node:os";
import { loadConfig } from "../config";
import { createLogger } from "../common/logger";
import { policy } from "../authz/policy";
import { describePermitError } from "../permit/client";
import { DEFAULT_SAMPLE_LIMIT, DEFAULT_SEED, impactLines, previewPolicyImpact } from "../permit/policy-impact";
import { recordPolicyChange } from "../permit/policy-history";
import { applyPolicy, summarize } from "../permit/policy-sync";
import { openCliDatabase } from "./database";
import { configuredPermitTarget, connectPermit, resolvePermitTarget } from "./permit-target";
import { CommandError, consoleIo, runCommandLine, runIfMain, UsageError, type CliCommand } from "./run";

/** `--fail-on-loss`: someone would lose access. */
export const EXIT_ACCESS_LOST = 3;

const USAGE = `Usage: npm run permit:apply [-- --prune] [--actor NAME]
       npm run permit:apply -- --dry-run [--prune]
       npm run permit:apply -- --preview [--json] [--fail-on-loss] [--sample N] [--seed S]

Pushes the authorization policy (src/authz/policy.ts) to the Permit environment of
PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL. Safe to run again: only differences are written.
What an apply changed is recorded in the database (DATABASE_URL, or the embedded one of a running
npm start): \`npm run permit -- history\` lists it.

  --prune          also delete roles, relations, condition sets, set rules and resources
                   that the policy does not define
  --actor NAME     who is applying, for the history (default: the OS user)
  --dry-run        print what the apply would change in the schema; write nothing
  --preview        print whose access would change (as --prune would apply the policy), from
                   every decision over the database's objects and Permit's users; write nothing
  --json           (with --preview) the same as JSON
  --fail-on-loss   (with --preview) exit ${EXIT_ACCESS_LOST} when anyone would lose access
  --sample N       (with --preview) compare at most N decisions: above, a seeded sample of N
                   (default ${DEFAULT_SAMPLE_LIMIT.toLocaleString("en-US")})
  --seed S         (with --preview) the sample's seed (default ${DEFAULT_SEED})

--dry-run and --preview also work against the embedded PDP of a running npm start.
Exit codes: 0 done, 1 failed, 2 usage or configuration, ${EXIT_ACCESS_LOST} --fail-on-loss and access would be lost.`;

interface Options {
  prune: boolean;
  dryRun: boolean;
  preview: boolean;
  json: boolean;
  failOnLoss: boolean;
  sample?: number;
  seed?: number;
  actor?: string;
}

function parseOptions(argv: string[]): Options | "help" {
  const o: Options = { prune: false, dryRun: false, preview: false, json: false, failOnLoss: false };
  const value = (i: number, flag: string) => {
    const v = argv[i];
    if (v === undefined || v.startsWith("--")) throw new UsageError(`${flag} needs a value.`);
    return v;
  };
  const wholeNumber = (raw: string, flag: string, min: number) => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`${flag} takes a whole number of at least ${min}.`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--prune") o.prune = true;
    else if (arg === "--dry-run") o.dryRun = true;
    else if (arg === "--preview") o.preview = true;
    else if (arg === "--json") o.json = true;
    else if (arg === "--fail-on-loss") o.failOnLoss = true;
    else if (arg === "--sample") o.sample = wholeNumber(value(++i, arg), arg, 1);
    else if (arg === "--seed") o.seed = wholeNumber(value(++i, arg), arg, 0);
    else if (arg === "--actor") o.actor = value(++i, arg).trim() || undefined;
    else if (arg === "--help" || arg === "-h") return "help";
    else throw new UsageError(`Unknown argument "${arg}".`);
  }
  if (o.preview && o.dryRun) throw new UsageError("--preview and --dry-run are two different reports: pass one.");
  if (!o.preview && (o.json || o.failOnLoss || o.sample !== undefined || o.seed !== undefined)) {
    throw new UsageError("--json, --fail-on-loss, --sample and --seed go with --preview.");
  }
  if ((o.preview || o.dryRun) && o.actor !== undefined) throw new UsageError("--actor goes with an apply (nothing is recorded otherwise).");
  return o;
}

const command: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    const o = parseOptions(argv);
    if (o === "help") {
      io.out(USAGE);
      return 0;
    }
    const config = loadConfig();
    const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, { name: "permit-apply" });
    const tenant = config.permit.tenant;
    const readOnly = o.preview || o.dryRun;
    const target = readOnly ? await resolvePermitTarget(config) : configuredPermitTarget(config);
    if (!target) {
      io.err(
        "PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL are not set, so the API uses its embedded local PDP,\n" +
          "which applies this policy itself every time `npm start` starts it. Nothing to do here.\n" +
          "To configure a Permit environment (cloud or PDP sidecar), set the three PERMIT_* variables and run again.",
      );
      return 2;
    }
    const permit = connectPermit(config, target, logger);
    const where = `${target.description} (tenant "${tenant}")`;

    if (o.dryRun) {
      io.out(`Comparing the policy with ${where}${o.prune ? ", pruning what it does not define" : ""}; nothing is written…`);
      const result = await failing("Reading the policy", () => applyPolicy(permit, policy, { prune: o.prune, tenant, dryRun: true, log: (line) => io.out(`  ${line}`) }));
      io.out(summarize(result, true));
      return 0;
    }

    if (o.preview) {
      const ds = await openCliDatabase(config, "The preview reads the objects from the database");
      try {
        io.err(`Comparing the decisions of ${where} with those of src/authz/policy.ts (as --prune would apply it)…`);
        const impact = await failing("The preview", () => previewPolicyImpact(permit, ds, tenant, policy, { sampleLimit: o.sample, seed: o.seed }));
        if (o.json) io.out(JSON.stringify({ target: target.description, tenant, ...impact }, null, 2));
        else for (const line of impactLines(impact)) io.out(line);
        io.err(`Compared ${impact.coverage.compared.toLocaleString("en-US")} decisions in ${(impact.ms / 1000).toFixed(1)} s.`);
        return o.failOnLoss && impact.losses.length > 0 ? EXIT_ACCESS_LOST : 0;
      } finally {
        await ds.destroy();
      }
    }

    // An apply is recorded: without the database, nothing is applied.
    const ds = await openCliDatabase(config, "The policy history is kept in the database");
    try {
      const actor = o.actor ?? userInfo().username;
      io.out(`Applying the policy to ${where}${o.prune ? ", pruning what it does not define" : ""}…`);
      const result = await failing("Applying the policy", () => applyPolicy(permit, policy, { prune: o.prune, tenant, log: (line) => io.out(`  ${line}`) }));
      io.out(summarize(result));
      const history = createLogger(config.logLevel, { name: "policy-history" });
      const row = await recordPolicyChange(ds, { actor, target: where, policy, prune: o.prune, result }, history);
      if (row) io.out(`Recorded as policy change #${row.id} by ${actor} (npm run permit -- history).`);
      return 0;
    } finally {
      await ds.destroy();
    }
  },
};

async function failing<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    throw new CommandError(`${what} failed: ${describePermitError(err).message}`);
  }
}

export const main = (argv: string[], io = consoleIo): Promise<number> => runCommandLine(command, argv, io);

runIfMain(module, command);
