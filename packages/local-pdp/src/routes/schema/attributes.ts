/** Attributes of a resource: `/resources/{r}/attributes[/{key}]`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { notFound } from "../../errors";
import type { AttributeInput } from "../../ops/inputs";
import { Fields } from "../../validate";
import { attributeView } from "../../views";
import type { Req } from "../request";
import { findResource, pageOf } from "./common";

export function parseAttribute(f: Fields): AttributeInput {
  return { type: f.str("type"), description: f.optStr("description") };
}

export function attributeRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/resources/:res/attributes", async (req: Req<{ res: string }>) => {
    const def = findResource(store, req.params.res);
    return pageOf(req, Object.keys(def.attributes).map((k) => attributeView(def, k)));
  });
  app.post("/resources/:res/attributes", async (req: Req<{ res: string }>) => {
    const f = Fields.of(req.body);
    const key = f.slug("key");
    await db.execute({ t: "attribute.create", resource: req.params.res, key, attribute: parseAttribute(f) });
    return attributeView(findResource(store, req.params.res), key);
  });
  app.get("/resources/:res/attributes/:key", async (req: Req<{ res: string; key: string }>) => {
    const def = findResource(store, req.params.res);
    if (!def.attributes[req.params.key]) throw notFound(`attribute '${req.params.key}' on resource '${req.params.res}'`);
    return attributeView(def, req.params.key);
  });
  app.delete("/resources/:res/attributes/:key", async (req: Req<{ res: string; key: string }>, reply) => {
    await db.execute({ t: "attribute.delete", resource: req.params.res, key: req.params.key });
    return noContent(reply);
  });
}
