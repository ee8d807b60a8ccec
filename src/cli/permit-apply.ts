/**
 * `npm run permit:apply [-- --prune]`: pushes the policy of policy.ts to the Permit
 * environment named by PERMIT_API_KEY / PERMIT_PDP_URL / PERMIT_API_URL.
 *
 * Exit codes: 0 applied (or nothing to do), 1 the apply failed, 2 usage or configuration.
 */
import { loadConfig } from "../config";
import { createLogger } from "../common/logger";
import { applyPolicy, summarize } from "../permit/policy-sync";
import { policy } from "../authz/policy";
import { configuredPermitTarget, connectPermit } from "./permit-target";
import { CommandError, consoleIo, runCommandLine, runIfMain, UsageError, type CliCommand } from "./run";

const USAGE = `Usage: npm run permit:apply [-- --prune]

Pushes the authorization policy (src/authz/policy.ts) to the Permit environment of
PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL. Safe to run again: only differences are written.

  --prune   also delete roles, relations, condition sets, set rules and resources
            that the policy does not define`;

const command: CliCommand = {
  usage: USAGE,
  async run(argv, io) {
    let prune = false;
    for (const arg of argv) {
      if (arg === "--prune") prune = true;
      else if (arg === "--help" || arg === "-h") {
        io.out(USAGE);
        return 0;
      } else throw new UsageError(`Unknown argument "${arg}".`);
    }

    const config = loadConfig();
    const target = configuredPermitTarget(config);
    if (!target) {
      io.err(
        "PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL are not set, so the API uses its embedded local PDP,\n" +
          "which applies this policy itself every time `npm start` starts it. Nothing to do here.\n" +
          "To configure a Permit environment (cloud or PDP sidecar), set the three PERMIT_* variables and run again.",
      );
      return 2;
    }

    const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, { name: "permit-apply" });
    const permit = connectPermit(config, target, logger);
    const tenant = config.permit.tenant;
    io.out(`Applying the policy to ${target.apiUrl} (tenant "${tenant}")${prune ? ", pruning what it does not define" : ""}…`);
    try {
      const result = await applyPolicy(permit, policy, { prune, tenant, log: (line) => io.out(`  ${line}`) });
      io.out(summarize(result));
      return 0;
    } catch (err) {
      throw new CommandError(`Applying the policy failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  },
};

export const main = (argv: string[]): Promise<number> => runCommandLine(command, argv, consoleIo);

runIfMain(module, command);
