/**
 * Schema API under /v2/schema/{proj}/{env}: resources, actions, attributes, roles, relations,
 * derivations and condition sets. Creates answer 200 with the Read object (Permit's documented
 * code), deletes 204. One module per object kind.
 */
import type { FastifyInstance } from "fastify";
import { checkScope, type PdpContext, type ScopeParams } from "../../context";
import { actionRoutes } from "./actions";
import { attributeRoutes } from "./attributes";
import { conditionSetRoutes } from "./condition-sets";
import { derivationRoutes } from "./derivations";
import { relationRoutes } from "./relations";
import { resourceRoleRoutes } from "./resource-roles";
import { resourceRoutes } from "./resources";
import { roleRoutes } from "./roles";

export function schemaRoutes(ctx: PdpContext) {
  return async (app: FastifyInstance): Promise<void> => {
    app.addHook("onRequest", async (req) => checkScope(req.params as ScopeParams));
    resourceRoutes(app, ctx);
    actionRoutes(app, ctx);
    attributeRoutes(app, ctx);
    resourceRoleRoutes(app, ctx);
    derivationRoutes(app, ctx);
    relationRoutes(app, ctx);
    roleRoutes(app, ctx);
    conditionSetRoutes(app, ctx);
  };
}
