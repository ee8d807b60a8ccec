/** Resources: `/resources`, `/resources/{key}`, with inline actions, attributes, roles and relations. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { invalid } from "../../errors";
import type { ResourceDef } from "../../model";
import type { ResourceBody } from "../../ops/inputs";
import { checkSlug, Fields, Query } from "../../validate";
import { resourceView } from "../../views";
import type { Req } from "../request";
import { findResource, pageOf } from "./common";
import { parseAction } from "./actions";
import { parseAttribute } from "./attributes";
import { parseResourceRole } from "./resource-roles";

function parseKeyedObjects<T>(f: Fields, name: string, parse: (item: Fields, key: string) => T): Record<string, T> | undefined {
  const block = f.optFields(name);
  if (!block) return undefined;
  const out: Record<string, T> = {};
  for (const key of block.keys()) {
    checkSlug(key, [...block.loc, key]);
    out[key] = parse(Fields.of(block.raw(key) ?? {}, [...block.loc, key]), key);
  }
  return out;
}

function parseResourceBody(f: Fields, requireActions: boolean): ResourceBody {
  if (requireActions && !f.has("actions")) throw invalid([...f.loc, "actions"], "field required");
  const roles = parseKeyedObjects(f, "roles", (item, key) => parseResourceRole(item, key));
  let relations: Record<string, string> | undefined;
  const relBlock = f.optFields("relations");
  if (relBlock) {
    relations = {};
    for (const key of relBlock.keys()) {
      checkSlug(key, [...relBlock.loc, key]);
      relations[key] = relBlock.str(key);
    }
  }
  return {
    name: f.optStr("name"),
    description: f.optStr("description"),
    urn: f.optStr("urn"),
    actions: parseKeyedObjects(f, "actions", parseAction),
    attributes: parseKeyedObjects(f, "attributes", parseAttribute),
    roles: roles ? Object.values(roles) : undefined,
    relations,
  };
}

export function resourceRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
  app.get("/resources", async (req: Req) => {
    const q = Query.of(req.query);
    const items = pageOf(req, [...store.resources.values()].map((r) => resourceView(store, r)));
    return q.bool("include_total_count") ? { data: items, total_count: store.resources.size, page_count: 1 } : items;
  });
  app.post("/resources", async (req: Req) => {
    const f = Fields.of(req.body);
    const key = f.slug("key");
    const def = await db.execute<ResourceDef>({ t: "resource.create", key, body: parseResourceBody(f, true) });
    return resourceView(store, def);
  });
  app.get("/resources/:res", async (req: Req<{ res: string }>) => resourceView(store, findResource(store, req.params.res)));
  app.put("/resources/:res", async (req: Req<{ res: string }>) => {
    const body = parseResourceBody(Fields.of(req.body), true);
    return resourceView(store, await db.execute<ResourceDef>({ t: "resource.replace", key: req.params.res, body }));
  });
  app.patch("/resources/:res", async (req: Req<{ res: string }>) => {
    const body = parseResourceBody(Fields.of(req.body), false);
    return resourceView(store, await db.execute<ResourceDef>({ t: "resource.update", key: req.params.res, body }));
  });
  app.delete("/resources/:res", async (req: Req<{ res: string }>, reply) => {
    await db.execute({ t: "resource.delete", key: req.params.res });
    return noContent(reply);
  });
}
