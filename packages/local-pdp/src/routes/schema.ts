/**
 * Schema API under /v2/schema/{proj}/{env}: resources, actions, attributes, roles, relations, derivations and condition sets.
 * Creates answer 200 with the Read object (Permit's documented code), deletes 204.
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { checkScope, noContent, type PdpContext, type ScopeParams } from "../context";
import { invalid, notFound } from "../errors";
import type { ConditionSetDef, JsonObject, RelationDef, ResourceDef, ResourceRoleDef, RoleDef } from "../model";
import type {
  ActionInput,
  AttributeInput,
  ConditionSetInput,
  DerivationInput,
  GrantedToInput,
  ResourceBody,
  ResourceRoleInput,
  WhenInput,
} from "../ops/inputs";
import { checkSlug, Fields, paginate, Query } from "../validate";
import {
  actionView,
  attributeView,
  conditionSetView,
  relationView,
  resourceRoleView,
  resourceView,
  roleView,
} from "../views";

type Req<P = object> = FastifyRequest<{ Params: ScopeParams & P; Body: unknown; Querystring: unknown }>;

// ------------------------------------------------------------ body parsers

function parseWhen(f: Fields | undefined): WhenInput | undefined {
  if (!f) return undefined;
  return { no_direct_roles_on_object: f.optBool("no_direct_roles_on_object") };
}

export function parseDerivation(f: Fields): DerivationInput {
  return {
    role: f.str("role"),
    on_resource: f.str("on_resource"),
    linked_by_relation: f.str("linked_by_relation"),
    when: parseWhen(f.optFields("when")),
  };
}

function parseGrantedTo(f: Fields | undefined): GrantedToInput | undefined {
  if (!f) return undefined;
  const rules = f.optArray("users_with_role");
  return {
    users_with_role: rules?.map((r, i) => parseDerivation(Fields.of(r, [...f.loc, "users_with_role", i]))),
    when: parseWhen(f.optFields("when")),
  };
}

function parseResourceRole(f: Fields, key?: string): ResourceRoleInput {
  return {
    key: key ?? f.slug("key"),
    name: f.optStr("name"),
    description: f.optStr("description"),
    permissions: f.optStringArray("permissions"),
    attributes: f.optObject("attributes"),
    granted_to: parseGrantedTo(f.optFields("granted_to")),
  };
}

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

function parseAction(f: Fields): ActionInput {
  return { name: f.optStr("name"), description: f.optStr("description"), attributes: f.optObject("attributes") };
}

function parseAttribute(f: Fields): AttributeInput {
  return { type: f.str("type"), description: f.optStr("description") };
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

function permissionsBody(body: unknown): string[] {
  const f = Fields.of(body);
  const permissions = f.optStringArray("permissions");
  if (!permissions) throw invalid(["body", "permissions"], "field required");
  return permissions;
}

// ------------------------------------------------------------ routes

export function schemaRoutes(ctx: PdpContext) {
  const { db, store } = ctx;

  const resource = (key: string): ResourceDef => {
    const def = store.resources.get(key);
    if (!def) throw notFound(`resource '${key}'`);
    return def;
  };
  const resourceRole = (res: string, key: string): ResourceRoleDef => {
    const role = resource(res).roles[key];
    if (!role) throw notFound(`role '${key}' on resource '${res}'`);
    return role;
  };
  const pageOf = <T>(req: Req, items: T[]): T[] => {
    const { page, perPage } = Query.of(req.query).page();
    return paginate(items, page, perPage);
  };

  return async (app: FastifyInstance): Promise<void> => {
    app.addHook("onRequest", async (req) => checkScope(req.params as ScopeParams));

    // ---- resources
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
    app.get("/resources/:res", async (req: Req<{ res: string }>) => resourceView(store, resource(req.params.res)));
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

    // ---- actions and attributes
    app.get("/resources/:res/actions", async (req: Req<{ res: string }>) => {
      const def = resource(req.params.res);
      return pageOf(req, Object.keys(def.actions).map((k) => actionView(def, k)));
    });
    app.post("/resources/:res/actions", async (req: Req<{ res: string }>) => {
      const f = Fields.of(req.body);
      const key = f.slug("key");
      await db.execute({ t: "action.create", resource: req.params.res, key, action: parseAction(f) });
      return actionView(resource(req.params.res), key);
    });
    app.get("/resources/:res/actions/:key", async (req: Req<{ res: string; key: string }>) => {
      const def = resource(req.params.res);
      if (!def.actions[req.params.key]) throw notFound(`action '${req.params.key}' on resource '${req.params.res}'`);
      return actionView(def, req.params.key);
    });
    app.delete("/resources/:res/actions/:key", async (req: Req<{ res: string; key: string }>, reply) => {
      await db.execute({ t: "action.delete", resource: req.params.res, key: req.params.key });
      return noContent(reply);
    });
    app.get("/resources/:res/attributes", async (req: Req<{ res: string }>) => {
      const def = resource(req.params.res);
      return pageOf(req, Object.keys(def.attributes).map((k) => attributeView(def, k)));
    });
    app.post("/resources/:res/attributes", async (req: Req<{ res: string }>) => {
      const f = Fields.of(req.body);
      const key = f.slug("key");
      await db.execute({ t: "attribute.create", resource: req.params.res, key, attribute: parseAttribute(f) });
      return attributeView(resource(req.params.res), key);
    });
    app.get("/resources/:res/attributes/:key", async (req: Req<{ res: string; key: string }>) => {
      const def = resource(req.params.res);
      if (!def.attributes[req.params.key]) throw notFound(`attribute '${req.params.key}' on resource '${req.params.res}'`);
      return attributeView(def, req.params.key);
    });
    app.delete("/resources/:res/attributes/:key", async (req: Req<{ res: string; key: string }>, reply) => {
      await db.execute({ t: "attribute.delete", resource: req.params.res, key: req.params.key });
      return noContent(reply);
    });

    // ---- resource roles and derivations
    app.get("/resources/:res/roles", async (req: Req<{ res: string }>) => {
      const def = resource(req.params.res);
      return pageOf(req, Object.values(def.roles).map((r) => resourceRoleView(store, def, r)));
    });
    app.post("/resources/:res/roles", async (req: Req<{ res: string }>) => {
      const role = parseResourceRole(Fields.of(req.body));
      const made = await db.execute<ResourceRoleDef>({ t: "rrole.create", resource: req.params.res, role });
      return resourceRoleView(store, resource(req.params.res), made);
    });
    app.get("/resources/:res/roles/:role", async (req: Req<{ res: string; role: string }>) =>
      resourceRoleView(store, resource(req.params.res), resourceRole(req.params.res, req.params.role)),
    );
    app.patch("/resources/:res/roles/:role", async (req: Req<{ res: string; role: string }>) => {
      const patch = parseResourceRole(Fields.of(req.body), req.params.role);
      const role = await db.execute<ResourceRoleDef>({ t: "rrole.update", resource: req.params.res, key: req.params.role, patch });
      return resourceRoleView(store, resource(req.params.res), role);
    });
    app.delete("/resources/:res/roles/:role", async (req: Req<{ res: string; role: string }>, reply) => {
      await db.execute({ t: "rrole.delete", resource: req.params.res, key: req.params.role });
      return noContent(reply);
    });
    app.post("/resources/:res/roles/:role/permissions", async (req: Req<{ res: string; role: string }>) => {
      const permissions = permissionsBody(req.body);
      const role = await db.execute<ResourceRoleDef>({ t: "rrole.permissions.add", resource: req.params.res, key: req.params.role, permissions });
      return resourceRoleView(store, resource(req.params.res), role);
    });
    app.delete("/resources/:res/roles/:role/permissions", async (req: Req<{ res: string; role: string }>) => {
      const permissions = permissionsBody(req.body);
      const role = await db.execute<ResourceRoleDef>({
        t: "rrole.permissions.remove",
        resource: req.params.res,
        key: req.params.role,
        permissions,
      });
      return resourceRoleView(store, resource(req.params.res), role);
    });
    app.post("/resources/:res/roles/:role/implicit_grants", async (req: Req<{ res: string; role: string }>) => {
      const rule = parseDerivation(Fields.of(req.body));
      return db.execute({ t: "derivation.create", resource: req.params.res, role: req.params.role, rule });
    });
    app.delete("/resources/:res/roles/:role/implicit_grants", async (req: Req<{ res: string; role: string }>, reply) => {
      const rule = parseDerivation(Fields.of(req.body));
      await db.execute({ t: "derivation.delete", resource: req.params.res, role: req.params.role, rule });
      return noContent(reply);
    });
    app.put("/resources/:res/roles/:role/implicit_grants/conditions", async (req: Req<{ res: string; role: string }>) => {
      const when = parseWhen(Fields.of(req.body)) ?? {};
      return db.execute({ t: "derivation.conditions", resource: req.params.res, role: req.params.role, when });
    });

    // ---- relations
    app.get("/resources/:res/relations", async (req: Req<{ res: string }>) => {
      const def = resource(req.params.res);
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
      return relationView(store, resource(req.params.res), relation);
    });
    app.get("/resources/:res/relations/:rel", async (req: Req<{ res: string; rel: string }>) => {
      const def = resource(req.params.res);
      const relation = def.relations[req.params.rel];
      if (!relation) throw notFound(`relation '${req.params.rel}' on resource '${req.params.res}'`);
      return relationView(store, def, relation);
    });
    app.delete("/resources/:res/relations/:rel", async (req: Req<{ res: string; rel: string }>, reply) => {
      await db.execute({ t: "relation.delete", resource: req.params.res, key: req.params.rel });
      return noContent(reply);
    });

    // ---- tenant roles
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

    // ---- condition sets
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
  };
}
