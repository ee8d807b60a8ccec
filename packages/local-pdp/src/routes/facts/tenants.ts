/** Tenants: `/tenants`, `/tenants/{key}`, `/tenants/{key}/users`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { notFound } from "../../errors";
import type { TenantRec } from "../../model";
import { checkSlug, Fields, paginate, Query } from "../../validate";
import { tenantView, userView } from "../../views";
import { paginated, type Req } from "../request";

export function tenantRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/tenants", async (req: Req) => {
    const q = Query.of(req.query);
    const { page, perPage } = q.page();
    const search = q.str("search");
    let tenants = [...store.tenants.values()];
    if (search) tenants = tenants.filter((t) => t.key.includes(search) || t.name.includes(search));
    return paginate(tenants.map(tenantView), page, perPage);
  });
  app.post("/tenants", async (req: Req, reply) => {
    const f = Fields.of(req.body);
    const { tenant, created } = await db.execute<{ tenant: TenantRec; created: boolean }>({
      t: "tenant.create",
      key: checkSlug(f.str("key"), ["body", "key"]),
      name: f.optStr("name"),
      description: f.optStr("description"),
      attributes: f.optObject("attributes"),
    });
    return reply.code(created ? 201 : 200).send(tenantView(tenant));
  });
  app.get("/tenants/:key", async (req: Req<{ key: string }>) => {
    const tenant = store.tenants.get(req.params.key);
    if (!tenant) throw notFound(`tenant '${req.params.key}'`);
    return tenantView(tenant);
  });
  app.patch("/tenants/:key", async (req: Req<{ key: string }>) => {
    const f = Fields.of(req.body);
    const tenant = await db.execute<TenantRec>({
      t: "tenant.update",
      key: req.params.key,
      name: f.optStr("name"),
      description: f.optStr("description"),
      attributes: f.optObject("attributes"),
    });
    return tenantView(tenant);
  });
  app.delete("/tenants/:key", async (req: Req<{ key: string }>, reply) => {
    await db.execute({ t: "tenant.delete", key: req.params.key });
    return noContent(reply);
  });
  app.get("/tenants/:key/users", async (req: Req<{ key: string }>) => {
    if (!store.tenants.has(req.params.key)) throw notFound(`tenant '${req.params.key}'`);
    const { page, perPage } = Query.of(req.query).page();
    const users = [...store.users.values()].filter((u) => store.tenantRoles.get(u.key)?.has(req.params.key));
    return paginated(
      users.map((u) => userView(store, u)),
      page,
      perPage,
    );
  });
  app.delete("/tenants/:key/users/:user", async (req: Req<{ key: string; user: string }>, reply) => {
    await db.execute({ t: "tenant.user.delete", tenant: req.params.key, user: req.params.user });
    return noContent(reply);
  });
}
