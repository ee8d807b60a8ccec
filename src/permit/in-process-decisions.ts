/**
 * The decision calls the rules make (`bulkCheck`, `getUserPermissions`, the SDK's shapes) as
 * function calls into the local PDP when it runs in this process (the embedded default): no
 * HTTP hop, no JSON, no socket, and none of the SDK's per-check log strings. The local PDP
 * parses, decides and logs each decision exactly as for its HTTP endpoints (one function
 * behind both), and the callers keep the circuit breaker (permit/breaker.ts) and the API's own
 * decision log above this. A cloud or sidecar PDP keeps the SDK over HTTP
 * (`LOCAL_PDP_DECISIONS=http` makes the embedded one do so too).
 */
import type { InProcessDecisions } from "@notes/local-pdp";
import type { DecisionClient } from "./breaker";

export function inProcessDecisionClient(local: InProcessDecisions): DecisionClient {
  return {
    // The SDK sends `{user, action, resource, context}` per check, context merged into each.
    bulkCheck: async (checks, context = {}) => local.bulk(checks.map((c) => ({ user: c.user, action: c.action, resource: c.resource, context }))),
    getUserPermissions: async (user, tenants, resources, resource_types) =>
      local.userPermissions({ user: typeof user === "string" ? { key: user } : user, tenants, resources, resource_types }) as Awaited<ReturnType<DecisionClient["getUserPermissions"]>>,
  };
}
