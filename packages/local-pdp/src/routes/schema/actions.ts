/** Actions of a resource: `/resources/{r}/actions[/{key}]`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { notFound } from "../../errors";
import type { ActionInput } from "../../ops/inputs";
import { Fields } from "../../validate";
import { actionView } from "../../views";
import type { Req } from "../request";
import { findResource, pageOf } from "./common";

export function parseAction(f: Fields): ActionInput {
  return { name: f.optStr("name"), description: f.optStr("description"), attributes: f.optObject("attributes") };
}

export function actionRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/resources/:res/actions", async (req: Req<{ res: string }>) => {
    const def = findResource(store, req.params.res);
    return pageOf(req, Object.keys(def.actions).map((k) => actionView(def, k)));
  });
  app.post("/resources/:res/actions", async (req: Req<{ res: string }>) => {
    const f = Fields.of(req.body);
    const key = f.slug("key");
    await db.execute({ t: "action.create", resource: req.params.res, key, action: parseAction(f) });
    return actionView(findResource(store, req.params.res), key);
  });
  app.get("/resources/:res/actions/:key", async (req: Req<{ res: string; key: string }>) => {
    const def = findResource(store, req.params.res);
    if (!def.actions[req.params.key]) throw notFound(`action '${req.params.key}' on resource '${req.params.res}'`);
    return actionView(def, req.params.key);
  });
  app.delete("/resources/:res/actions/:key", async (req: Req<{ res: string; key: string }>, reply) => {
    await db.execute({ t: "action.delete", resource: req.params.res, key: req.params.key });
    return noContent(reply);
  });
}
