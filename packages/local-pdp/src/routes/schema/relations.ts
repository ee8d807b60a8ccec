/** Relations of a resource: `/resources/{r}/relations[/{rel}]`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { notFound } from "../../errors";
import type { RelationDef } from "../../model";
import { Fields } from "../../validate";
import { relationView } from "../../views";
import type { Req } from "../request";
import { findResource, pageOf } from "./common";

export function relationRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/resources/:res/relations", async (req: Req<{ res: string }>) => {
    const def = findResource(store, req.params.res);
    return pageOf(req, Object.values(def.relations).map((r) => relationView(store, def, r)));
  });
  app.post("/resources/:res/relations", async (req: Req<{ res: string }>) => {
    const f = Fields.of(req.body);
    const relation = await db.execute<RelationDef>({
      t: "relation.create",
      resource: req.params.res,
      key: f.slug("key"),
      name: f.optStr("name"),
      description: f.optStr("description"),
      subject_resource: f.str("subject_resource"),
    });
    return relationView(store, findResource(store, req.params.res), relation);
  });
  app.get("/resources/:res/relations/:rel", async (req: Req<{ res: string; rel: string }>) => {
    const def = findResource(store, req.params.res);
    const relation = def.relations[req.params.rel];
    if (!relation) throw notFound(`relation '${req.params.rel}' on resource '${req.params.res}'`);
    return relationView(store, def, relation);
  });
  app.delete("/resources/:res/relations/:rel", async (req: Req<{ res: string; rel: string }>, reply) => {
    await db.execute({ t: "relation.delete", resource: req.params.res, key: req.params.rel });
    return noContent(reply);
  });
}
