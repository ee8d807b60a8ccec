/**
 * `npm run permit:apply [-- --prune]`: pushes the policy of policy.ts to the Permit
 * environment named by PERMIT_API_KEY / PERMIT_PDP_URL / PERMIT_API_URL.
 *
 * Exit codes: 0 applied (or nothing to do), 1 the apply failed, 2 usage or configuration.
 */
import { ConfigError, loadConfig, usesEmbedded } from "../config";
import { createLogger } from "../common/logger";
import { applyPolicy, summarize } from "../permit/policy-sync";
import { createPermitClient } from "../permit/client";
import { policy } from "../authz/policy";

const USAGE = `Usage: npm run permit:apply [-- --prune]

Pushes the authorization policy (src/authz/policy.ts) to the Permit environment of
PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL. Safe to run again: only differences are written.

  --prune   also delete roles, relations, condition sets, set rules and resources
            that the policy does not define`;

export async function main(argv: string[]): Promise<number> {
  let prune = false;
  for (const arg of argv) {
    if (arg === "--prune") prune = true;
    else if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`Unknown argument "${arg}".\n\n${USAGE}`);
      return 2;
    }
  }

  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      return 2;
    }
    throw err;
  }
  if (usesEmbedded.permit(config)) {
    console.error(
      "PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL are not set, so the API uses its embedded local PDP,\n" +
        "which applies this policy itself every time `npm start` starts it. Nothing to do here.\n" +
        "To configure a Permit environment (cloud or PDP sidecar), set the three PERMIT_* variables and run again.",
    );
    return 2;
  }

  const { apiKey, pdpUrl, apiUrl } = config.permit as Required<typeof config.permit>;
  const logger = createLogger(config.logLevel === "info" ? "warn" : config.logLevel, "permit-apply");
  const permit = createPermitClient({ apiKey, pdpUrl, apiUrl, timeoutMs: config.permit.timeoutMs }, logger);
  console.log(`Applying the policy to ${apiUrl} (tenant "${config.permit.tenant}")${prune ? ", pruning what it does not define" : ""}…`);
  try {
    const result = await applyPolicy(permit, policy, { prune, tenant: config.permit.tenant, log: (line) => console.log(`  ${line}`) });
    console.log(summarize(result));
    return 0;
  } catch (err) {
    console.error(`Applying the policy failed: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
