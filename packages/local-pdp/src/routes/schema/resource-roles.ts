/** Roles of a resource: `/resources/{r}/roles[/{role}]` (with `granted_to`) and their `/permissions`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import type { ResourceRoleDef } from "../../model";
import type { GrantedToInput, ResourceRoleInput } from "../../ops/inputs";
import { Fields } from "../../validate";
import { resourceRoleView } from "../../views";
import type { Req } from "../request";
import { findResource, findResourceRole, pageOf, permissionsBody } from "./common";
import { parseDerivation, parseWhen } from "./derivations";

function parseGrantedTo(f: Fields | undefined): GrantedToInput | undefined {
  if (!f) return undefined;
  const rules = f.optArray("users_with_role");
  return {
    users_with_role: rules?.map((r, i) => parseDerivation(Fields.of(r, [...f.loc, "users_with_role", i]))),
    when: parseWhen(f.optFields("when")),
  };
}

export function parseResourceRole(f: Fields, key?: string): ResourceRoleInput {
  return {
    key: key ?? f.slug("key"),
    name: f.optStr("name"),
    description: f.optStr("description"),
    permissions: f.optStringArray("permissions"),
    attributes: f.optObject("attributes"),
    granted_to: parseGrantedTo(f.optFields("granted_to")),
  };
}

export function resourceRoleRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/resources/:res/roles", async (req: Req<{ res: string }>) => {
    const def = findResource(store, req.params.res);
    return pageOf(req, Object.values(def.roles).map((r) => resourceRoleView(store, def, r)));
  });
  app.post("/resources/:res/roles", async (req: Req<{ res: string }>) => {
    const role = parseResourceRole(Fields.of(req.body));
    const made = await db.execute<ResourceRoleDef>({ t: "rrole.create", resource: req.params.res, role });
    return resourceRoleView(store, findResource(store, req.params.res), made);
  });
  app.get("/resources/:res/roles/:role", async (req: Req<{ res: string; role: string }>) =>
    resourceRoleView(store, findResource(store, req.params.res), findResourceRole(store, req.params.res, req.params.role)),
  );
  app.patch("/resources/:res/roles/:role", async (req: Req<{ res: string; role: string }>) => {
    const patch = parseResourceRole(Fields.of(req.body), req.params.role);
    const role = await db.execute<ResourceRoleDef>({ t: "rrole.update", resource: req.params.res, key: req.params.role, patch });
    return resourceRoleView(store, findResource(store, req.params.res), role);
  });
  app.delete("/resources/:res/roles/:role", async (req: Req<{ res: string; role: string }>, reply) => {
    await db.execute({ t: "rrole.delete", resource: req.params.res, key: req.params.role });
    return noContent(reply);
  });
  app.post("/resources/:res/roles/:role/permissions", async (req: Req<{ res: string; role: string }>) => {
    const permissions = permissionsBody(req.body);
    const role = await db.execute<ResourceRoleDef>({ t: "rrole.permissions.add", resource: req.params.res, key: req.params.role, permissions });
    return resourceRoleView(store, findResource(store, req.params.res), role);
  });
  app.delete("/resources/:res/roles/:role/permissions", async (req: Req<{ res: string; role: string }>) => {
    const permissions = permissionsBody(req.body);
    const role = await db.execute<ResourceRoleDef>({
      t: "rrole.permissions.remove",
      resource: req.params.res,
      key: req.params.role,
      permissions,
    });
    return resourceRoleView(store, findResource(store, req.params.res), role);
  });
}
