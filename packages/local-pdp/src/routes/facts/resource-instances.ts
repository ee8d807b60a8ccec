/** Resource instances: `/resource_instances`, `/resource_instances/{type:key}`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { notFound } from "../../errors";
import type { InstanceRec } from "../../model";
import { Fields, paginate, Query } from "../../validate";
import { instanceView } from "../../views";
import type { Req } from "../request";

export function resourceInstanceRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  let listed: { key: string; items: InstanceRec[] } | undefined;
  app.get("/resource_instances", async (req: Req) => {
    const q = Query.of(req.query);
    const { page, perPage } = q.page();
    const tenant = q.str("tenant");
    const resource = q.str("resource");
    const search = q.str("search");
    // Reading every page of a large type would filter the whole type once per page; the
    // filtered list is kept while the store does not change, so a full read is one pass.
    const key = `${store.changes} ${store.instances.size} ${resource ?? ""} ${tenant ?? ""} ${search ?? ""}`;
    if (listed?.key !== key) {
      const ids: Iterable<string> = resource ? (store.instancesByType.get(resource) ?? []) : store.instances.keys();
      const items: InstanceRec[] = [];
      for (const id of ids) {
        const i = store.instances.get(id);
        if (i && (!tenant || i.tenant === tenant) && (!search || i.key.includes(search))) items.push(i);
      }
      listed = { key, items };
    }
    return paginate(listed.items, page, perPage).map((i) => instanceView(store, i));
  });
  app.post("/resource_instances", async (req: Req, reply) => {
    const f = Fields.of(req.body);
    const { instance, created } = await db.execute<{ instance: InstanceRec; created: boolean }>({
      t: "instance.create",
      key: f.factKey("key"),
      resource: f.str("resource"),
      tenant: f.optStr("tenant"),
      attributes: f.optObject("attributes"),
    });
    return reply.code(created ? 201 : 200).send(instanceView(store, instance));
  });
  app.get("/resource_instances/:id", async (req: Req<{ id: string }>) => {
    const instance = store.instances.get(req.params.id);
    if (!instance) throw notFound(`resource instance '${req.params.id}'`);
    return instanceView(store, instance);
  });
  app.patch("/resource_instances/:id", async (req: Req<{ id: string }>) => {
    const f = Fields.of(req.body);
    return instanceView(store, await db.execute<InstanceRec>({ t: "instance.update", id: req.params.id, attributes: f.optObject("attributes") }));
  });
  app.delete("/resource_instances/:id", async (req: Req<{ id: string }>, reply) => {
    await db.execute({ t: "instance.delete", id: req.params.id });
    return noContent(reply);
  });
}
