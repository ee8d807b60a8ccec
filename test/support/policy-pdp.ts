import type { Permit } from "permitio";
import { applyPolicy } from "../../src/permit/policy-sync";
import { createPermitClient } from "../../src/permit/client";
import { policy } from "../../src/authz/policy";
import { startLocalPdp, type LocalPdp } from "@notes/local-pdp";
import { createLogger } from "../../src/common/logger";

/** A local PDP on a free port with the project's policy applied, and an SDK client for it. */
export async function startPolicyPdp(apiKey: string, tenant = "default"): Promise<{ pdp: LocalPdp; permit: Permit }> {
  const pdp = await startLocalPdp({ apiKey, port: 0 });
  const permit = createPermitClient({ apiKey, pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 2000 }, createLogger("silent"));
  await applyPolicy(permit, policy, { tenant });
  return { pdp, permit };
}
