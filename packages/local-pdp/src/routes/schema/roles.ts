/** Tenant roles: `/roles[/{key}]` and `/roles/{key}/permissions`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { invalid, notFound } from "../../errors";
import type { RoleDef } from "../../model";
import { Fields, Query } from "../../validate";
import { roleView } from "../../views";
import type { Req } from "../request";
import { pageOf, permissionsBody } from "./common";

export function roleRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/roles", async (req: Req) => {
    const items = pageOf(req, [...store.roles.values()].map(roleView));
    return Query.of(req.query).bool("include_total_count") ? { data: items, total_count: store.roles.size, page_count: 1 } : items;
  });
  app.post("/roles", async (req: Req) => {
    const f = Fields.of(req.body);
    if (f.has("granted_to")) throw invalid(["body", "granted_to"], "derivations of tenant roles are not supported by the local PDP");
    const role = await db.execute<RoleDef>({
      t: "role.create",
      role: {
        key: f.slug("key"),
        name: f.optStr("name"),
        description: f.optStr("description"),
        permissions: f.optStringArray("permissions"),
        attributes: f.optObject("attributes"),
      },
    });
    return roleView(role);
  });
  app.get("/roles/:key", async (req: Req<{ key: string }>) => {
    const role = store.roles.get(req.params.key);
    if (!role) throw notFound(`role '${req.params.key}'`);
    return roleView(role);
  });
  app.patch("/roles/:key", async (req: Req<{ key: string }>) => {
    const f = Fields.of(req.body);
    if (f.has("granted_to")) throw invalid(["body", "granted_to"], "derivations of tenant roles are not supported by the local PDP");
    const patch = {
      name: f.optStr("name"),
      description: f.optStr("description"),
      permissions: f.optStringArray("permissions"),
      attributes: f.optObject("attributes"),
    };
    return roleView(await db.execute<RoleDef>({ t: "role.update", key: req.params.key, patch }));
  });
  app.delete("/roles/:key", async (req: Req<{ key: string }>, reply) => {
    await db.execute({ t: "role.delete", key: req.params.key });
    return noContent(reply);
  });
  app.post("/roles/:key/permissions", async (req: Req<{ key: string }>) =>
    roleView(await db.execute<RoleDef>({ t: "role.permissions.add", key: req.params.key, permissions: permissionsBody(req.body) })),
  );
  app.delete("/roles/:key/permissions", async (req: Req<{ key: string }>) =>
    roleView(await db.execute<RoleDef>({ t: "role.permissions.remove", key: req.params.key, permissions: permissionsBody(req.body) })),
  );
}
