/**
 * Facts API under /v2/facts/{proj}/{env}: users, tenants, resource instances, role
 * assignments, relationship tuples and set rules, with Permit's status codes (200/201 upserts,
 * 204 deletes, 404 missing, 409 duplicates, 422 invalid bodies). One module per object kind.
 */
import type { FastifyInstance } from "fastify";
import { checkScope, type PdpContext, type ScopeParams } from "../../context";
import { resourceInstanceRoutes } from "./resource-instances";
import { roleAssignmentRoutes } from "./role-assignments";
import { setRuleRoutes } from "./set-rules";
import { tenantRoutes } from "./tenants";
import { tupleRoutes } from "./tuples";
import { userRoutes } from "./users";

export function factsRoutes(ctx: PdpContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook("onRequest", async (req) => checkScope(req.params as ScopeParams));
    userRoutes(app, ctx);
    tenantRoutes(app, ctx);
    resourceInstanceRoutes(app, ctx);
    roleAssignmentRoutes(app, ctx);
    tupleRoutes(app, ctx);
    setRuleRoutes(app, ctx);
  };
}
