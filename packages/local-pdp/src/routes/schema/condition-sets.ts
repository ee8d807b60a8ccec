/** Condition sets: `/condition_sets[/{key}]`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { invalid, notFound } from "../../errors";
import type { ConditionSetDef, JsonObject } from "../../model";
import type { ConditionSetInput } from "../../ops/inputs";
import { Fields } from "../../validate";
import { conditionSetView } from "../../views";
import type { Req } from "../request";
import { pageOf } from "./common";

function parseConditionSet(f: Fields): ConditionSetInput {
  const type = f.optStr("type") ?? "userset";
  if (type !== "userset" && type !== "resourceset") throw invalid([...f.loc, "type"], "must be 'userset' or 'resourceset'");
  return {
    key: f.slug("key"),
    name: f.optStr("name"),
    description: f.optStr("description"),
    type,
    resource_id: f.optStr("resource_id"),
    conditions: f.optObject("conditions"),
    parent_id: f.optStr("parent_id"),
  };
}

export function conditionSetRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/condition_sets", async (req: Req) => pageOf(req, [...store.conditionSets.values()].map((s) => conditionSetView(store, s))));
  app.post("/condition_sets", async (req: Req) => {
    const set = await db.execute<ConditionSetDef>({ t: "cset.create", set: parseConditionSet(Fields.of(req.body)) });
    return conditionSetView(store, set);
  });
  app.get("/condition_sets/:key", async (req: Req<{ key: string }>) => {
    const set = store.conditionSets.get(req.params.key);
    if (!set) throw notFound(`condition set '${req.params.key}'`);
    return conditionSetView(store, set);
  });
  app.patch("/condition_sets/:key", async (req: Req<{ key: string }>) => {
    const f = Fields.of(req.body);
    const parent = f.raw("parent_id");
    if (parent !== undefined && parent !== null && typeof parent !== "string") throw invalid(["body", "parent_id"], "must be a string");
    const set = await db.execute<ConditionSetDef>({
      t: "cset.update",
      key: req.params.key,
      name: f.optStr("name"),
      description: f.optStr("description"),
      conditions: f.optObject("conditions") as JsonObject | undefined,
      parent_id: parent === null ? null : (parent as string | undefined),
    });
    return conditionSetView(store, set);
  });
  app.delete("/condition_sets/:key", async (req: Req<{ key: string }>, reply) => {
    await db.execute({ t: "cset.delete", key: req.params.key });
    return noContent(reply);
  });
}
