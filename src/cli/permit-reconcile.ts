/**
 * `npm run permit:reconcile [-- --dry-run]`: recomputes every fact the API owns in Permit from
 * the database and repairs Permit (permit/reconcile.ts): creates what is missing, removes what
 * is stale, never touches roles granted by hand (admin, any tenant role but `user`) or user
 * attributes (plan). Talks to PERMIT_* when set, else the embedded PDP of a running `npm start`;
 * reads DATABASE_URL, else the embedded database of that `npm start`.
 *
 * While it runs, no replica delivers facts (it holds the deliverers' lock): facts recorded
 * meanwhile wait in the outbox and are delivered, in order, once it is done. `--dry-run` only
 * reads, prints the diff and changes nothing.
 *
 * stdout: the diff (dry run) and the summary. stderr: progress.
 * Exit codes: 0 done (a dry run too, whatever it found), 1 failed, 2 usage or configuration.
 */
import { loadConfig } from "../config";
import { createLogger } from "../common/logger";
import { withDeliveryPaused } from "../outbox/delivery";
import { describePermitError } from "../permit/client";
import { changeCount, diffLines, reconcile, summaryLines } from "../permit/reconcile";
import { openCliDatabase } from "./database";
import { connectPermit, resolvePermitTarget } from "./permit-target";
import { consoleIo, runCommandLine, runIfMain, UsageError, type CliCommand } from "./run";

const USAGE = `Usage: npm run permit:reconcile [-- --dry-run] [--concurrency N]

Recomputes from the database every fact the API writes to Permit (users with the role user,
workspaces, workspace roles, notes, note → workspace tuples) and repairs Permit to match.
Roles granted by hand (admin, any tenant role other than user) and user attributes (plan)
are never touched.

  --dry-run          print the differences, change nothing
  --concurrency N    parallel calls for instance and user writes (default 16)`;

const command: CliCommand = {
  usage: USAGE,
  prefix: "permit:reconcile: ",
  describeFailure: (err) => `permit:reconcile: failed: ${describePermitError(err).message}`,
  async run(argv, io) {
    let dryRun = false;
    let concurrency = 16;
    for (let i = 0; i < argv.length; i++) {
      const arg = argv[i]!;
      if (arg === "--dry-run") dryRun = true;
      else if (arg === "--concurrency") {
        concurrency = Number(argv[++i]);
        if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 256) throw new UsageError("--concurrency takes a whole number from 1 to 256.");
      } else if (arg === "--help" || arg === "-h") {
        io.out(USAGE);
        return 0;
      } else throw new UsageError(`Unknown argument "${arg}".`);
    }

    const config = loadConfig();
    const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, { name: "permit-reconcile" });
    const target = await resolvePermitTarget(config);
    const permit = connectPermit(config, target, logger);
    const ds = await openCliDatabase(config);
    try {
      const tenant = config.permit.tenant;
      io.err(`${dryRun ? "Comparing" : "Reconciling"} ${target.description} (tenant "${tenant}") with the database…`);
      const run = () => reconcile({ permit, ds, tenant, dryRun, concurrency, progress: (line) => io.err(line) });
      const report = dryRun ? await run() : await withDeliveryPaused(ds, run);
      const changes = changeCount(report.diff);
      if (dryRun) for (const line of diffLines(report.diff)) io.out(line);
      for (const line of summaryLines(report)) io.out(line);
      const seconds = ((report.ms.read + report.ms.write) / 1000).toFixed(1);
      if (changes === 0) io.out(`Permit matches the database: nothing to do (${seconds} s).`);
      else if (dryRun) io.out(`${changes} differences; nothing was changed (dry run, ${seconds} s).`);
      else io.out(`${changes} facts repaired in ${seconds} s (read ${(report.ms.read / 1000).toFixed(1)} s, write ${(report.ms.write / 1000).toFixed(1)} s).`);
      return 0;
    } finally {
      await ds.destroy();
    }
  },
};

export const main = (argv: string[], io = consoleIo): Promise<number> => runCommandLine(command, argv, io);

runIfMain(module, command);
