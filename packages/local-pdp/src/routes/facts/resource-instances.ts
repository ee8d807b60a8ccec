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
  app.get("/resource_instances", async (req: Req) => {
    const q = Query.of(req.query);
    const { page, perPage } = q.page();
    const tenant = q.str("tenant");
    const resource = q.str("resource");
    const search = q.str("search");
    let ids: Iterable<string> = resource ? store.instancesByType.list(resource) : store.instances.keys();
    if (tenant) ids = [...ids].filter((id) => store.instances.get(id)?.tenant === tenant);
    let instances = [...ids].map((id) => store.instances.get(id)).filter((i): i is InstanceRec => i !== undefined);
    if (search) instances = instances.filter((i) => i.key.includes(search));
    return paginate(instances, page, perPage).map((i) => instanceView(store, i));
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
