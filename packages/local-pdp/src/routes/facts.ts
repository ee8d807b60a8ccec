/**
 * Facts API under /v2/facts/{proj}/{env}: users, tenants, resource instances, role
 * assignments, relationship tuples and set rules, with Permit's status codes (200/201 upserts,
 * 204 deletes, 404 missing, 409 duplicates, 422 invalid bodies).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import { checkScope, noContent, type PdpContext, type ScopeParams } from "../context";
import { invalid, notFound } from "../errors";
import type { AssignmentRec, InstanceRec, SetRuleRec, TenantRec, TupleRec, UserRec } from "../model";
import type { AssignmentInput, SetRuleInput, TupleInput, UserInput, UserRoleInput } from "../ops/inputs";
import { normalizeSetRule } from "../ops/schema/set-rules";
import { tupleKey } from "../store";
import { checkFactKey, checkSlug, Fields, paginate, Query } from "../validate";
import { assignmentView, detailedAssignmentView, instanceView, setRuleView, tenantView, tupleView, userView } from "../views";

type Req<P = object> = FastifyRequest<{ Params: ScopeParams & P; Body: unknown; Querystring: unknown }>;

// ------------------------------------------------------------ body parsers

function parseUserRole(f: Fields): UserRoleInput {
  return { role: f.str("role"), tenant: f.optStr("tenant"), resource_instance: f.optStr("resource_instance") };
}

function parseUser(f: Fields, key?: string): UserInput {
  const roles = f.optArray("role_assignments");
  const bodyKey = f.optStr("key");
  if (key !== undefined && bodyKey !== undefined && bodyKey !== key) throw invalid(["body", "key"], "must match the key in the path");
  return {
    key: key ?? f.factKey("key"),
    email: f.optStr("email"),
    first_name: f.optStr("first_name"),
    last_name: f.optStr("last_name"),
    attributes: f.optObject("attributes"),
    role_assignments: roles?.map((r, i) => parseUserRole(Fields.of(r, ["body", "role_assignments", i]))),
  };
}

export function parseAssignment(f: Fields): AssignmentInput {
  return { user: f.factKey("user"), role: f.str("role"), tenant: f.optStr("tenant"), resource_instance: f.optStr("resource_instance") };
}

export function parseTuple(f: Fields): TupleInput {
  return { subject: f.str("subject"), relation: f.str("relation"), object: f.str("object"), tenant: f.optStr("tenant") };
}

function parseSetRule(f: Fields): SetRuleInput {
  return {
    user_set: f.str("user_set"),
    permission: f.str("permission"),
    resource_set: f.str("resource_set"),
    is_role: f.optBool("is_role"),
    is_resource: f.optBool("is_resource"),
  };
}

function parseList<T>(value: unknown, loc: (string | number)[], parse: (f: Fields) => T): T[] {
  if (!Array.isArray(value)) throw invalid(loc, "must be an array");
  return value.map((item: unknown, i: number) => parse(Fields.of(item, [...loc, i])));
}

// ------------------------------------------------------------ routes

export function factsRoutes(ctx: PdpContext) {
  const { db, store } = ctx;

  const user = (key: string): UserRec => {
    const rec = store.users.get(key);
    if (!rec) throw notFound(`user '${key}'`);
    return rec;
  };
  const paginated = <T>(items: T[], page: number, perPage: number) => ({
    data: paginate(items, page, perPage),
    total_count: items.length,
    page_count: Math.max(1, Math.ceil(items.length / perPage)),
  });

  return async (app: FastifyInstance): Promise<void> => {
    app.addHook("onRequest", async (req) => checkScope(req.params as ScopeParams));

    // ---- users
    app.get("/users", async (req: Req) => {
      const q = Query.of(req.query);
      const { page, perPage } = q.page();
      const search = q.str("search");
      const role = q.str("role");
      let users = [...store.users.values()];
      if (search) users = users.filter((u) => u.key.includes(search) || (u.email ?? "").includes(search));
      if (role) users = users.filter((u) => [...(store.tenantRoles.get(u.key)?.values() ?? [])].some((roles) => roles.has(role)));
      return paginated(
        users.map((u) => userView(store, u)),
        page,
        perPage,
      );
    });
    app.post("/users", async (req: Req) => userView(store, await db.execute<UserRec>({ t: "user.create", user: parseUser(Fields.of(req.body)) })));
    app.get("/users/:key", async (req: Req<{ key: string }>) => userView(store, user(req.params.key)));
    app.put("/users/:key", async (req: Req<{ key: string }>, reply) => {
      const input = parseUser(Fields.of(req.body), checkFactKey(req.params.key, ["path", "key"]));
      const { user: rec, created } = await db.execute<{ user: UserRec; created: boolean }>({ t: "user.replace", user: input });
      return reply.code(created ? 201 : 200).send(userView(store, rec));
    });
    app.patch("/users/:key", async (req: Req<{ key: string }>) => {
      const f = Fields.of(req.body);
      const rec = await db.execute<UserRec>({
        t: "user.update",
        key: req.params.key,
        email: f.optStr("email"),
        first_name: f.optStr("first_name"),
        last_name: f.optStr("last_name"),
        attributes: f.optObject("attributes"),
      });
      return userView(store, rec);
    });
    app.delete("/users/:key", async (req: Req<{ key: string }>, reply) => {
      await db.execute({ t: "user.delete", key: req.params.key });
      return noContent(reply);
    });
    app.post("/users/:key/roles", async (req: Req<{ key: string }>) => {
      const role = parseUserRole(Fields.of(req.body));
      const rec = await db.execute<AssignmentRec>({ t: "assignment.create", assignment: { user: req.params.key, ...role } });
      return assignmentView(store, rec);
    });
    app.delete("/users/:key/roles", async (req: Req<{ key: string }>, reply) => {
      const role = parseUserRole(Fields.of(req.body));
      await db.execute({ t: "assignment.delete", assignment: { user: req.params.key, ...role } });
      return noContent(reply);
    });

    // ---- tenants
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

    // ---- resource instances
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

    // ---- role assignments
    app.get("/role_assignments", async (req: Req) => {
      const q = Query.of(req.query);
      const { page, perPage } = q.page();
      const filter = { user: q.str("user"), role: q.str("role"), tenant: q.str("tenant"), instance: q.str("resource_instance") };
      const keys = filter.user
        ? store.assignmentsByUser.list(filter.user)
        : filter.instance
          ? store.assignmentsByInstance.list(filter.instance)
          : [...store.assignments.keys()];
      const matching = keys
        .map((k) => store.assignments.get(k))
        .filter((a): a is AssignmentRec => a !== undefined)
        .filter(
          (a) =>
            (!filter.role || a.role === filter.role) &&
            (!filter.tenant || a.tenant === filter.tenant) &&
            (!filter.instance || a.resource_instance === filter.instance),
        );
      const view = q.bool("detailed") ? detailedAssignmentView : assignmentView;
      const items = paginate(matching, page, perPage).map((a) => view(store, a));
      return q.bool("include_total_count")
        ? { data: items, total_count: matching.length, page_count: Math.max(1, Math.ceil(matching.length / perPage)) }
        : items;
    });
    app.post("/role_assignments", async (req: Req) =>
      assignmentView(store, await db.execute<AssignmentRec>({ t: "assignment.create", assignment: parseAssignment(Fields.of(req.body)) })),
    );
    app.delete("/role_assignments", async (req: Req, reply) => {
      await db.execute({ t: "assignment.delete", assignment: parseAssignment(Fields.of(req.body)) });
      return noContent(reply);
    });
    app.post("/role_assignments/bulk", async (req: Req) =>
      db.execute({ t: "assignment.bulkCreate", assignments: parseList(req.body, ["body"], parseAssignment) }),
    );
    app.delete("/role_assignments/bulk", async (req: Req) =>
      db.execute({ t: "assignment.bulkDelete", assignments: parseList(req.body, ["body"], parseAssignment) }),
    );

    // ---- relationship tuples
    app.get("/relationship_tuples", async (req: Req) => {
      const q = Query.of(req.query);
      const { page, perPage } = q.page();
      const f = {
        subject: q.str("subject"),
        relation: q.str("relation"),
        object: q.str("object"),
        tenant: q.str("tenant"),
        subjectType: q.str("subject_type"),
        objectType: q.str("object_type"),
      };
      let tuples: TupleRec[];
      if (f.object) {
        tuples = [];
        for (const [relation, subjects] of store.tuplesByObject.get(f.object) ?? []) {
          for (const subject of subjects) {
            const t = store.tuples.get(tupleKey({ subject, relation, object: f.object as string }));
            if (t) tuples.push(t);
          }
        }
      } else if (f.subject) {
        tuples = [];
        for (const [relation, objects] of store.tuplesBySubject.get(f.subject) ?? []) {
          for (const object of objects) {
            const t = store.tuples.get(tupleKey({ subject: f.subject as string, relation, object }));
            if (t) tuples.push(t);
          }
        }
      } else {
        tuples = [...store.tuples.values()];
      }
      tuples = tuples.filter(
        (t) =>
          (!f.subject || t.subject === f.subject) &&
          (!f.relation || t.relation === f.relation) &&
          (!f.tenant || t.tenant === f.tenant) &&
          (!f.subjectType || t.subject.startsWith(`${f.subjectType}:`)) &&
          (!f.objectType || t.object.startsWith(`${f.objectType}:`)),
      );
      return paginate(tuples, page, perPage).map((t) => tupleView(store, t));
    });
    app.post("/relationship_tuples", async (req: Req) =>
      tupleView(store, await db.execute<TupleRec>({ t: "tuple.create", tuple: parseTuple(Fields.of(req.body)) })),
    );
    app.delete("/relationship_tuples", async (req: Req, reply) => {
      await db.execute({ t: "tuple.delete", tuple: parseTuple(Fields.of(req.body)) });
      return noContent(reply);
    });
    app.post("/relationship_tuples/bulk", async (req: Req) => {
      const f = Fields.of(req.body);
      return db.execute({ t: "tuple.bulkCreate", tuples: parseList(f.raw("operations"), ["body", "operations"], parseTuple) });
    });
    app.delete("/relationship_tuples/bulk", async (req: Req) => {
      const f = Fields.of(req.body);
      return db.execute({ t: "tuple.bulkDelete", tuples: parseList(f.raw("idents"), ["body", "idents"], parseTuple) });
    });

    // ---- set rules (condition set rules live under facts in Permit's API)
    app.get("/set_rules", async (req: Req) => {
      const q = Query.of(req.query);
      const { page, perPage } = q.page();
      const f = { userSet: q.str("user_set"), permission: q.str("permission"), resourceSet: q.str("resource_set") };
      const rules = [...store.setRules.values()].filter(
        (r) =>
          (!f.userSet || r.user_set === f.userSet) &&
          (!f.permission || r.permission === f.permission) &&
          (!f.resourceSet || r.resource_set === f.resourceSet),
      );
      return paginate(rules, page, perPage).map(setRuleView);
    });
    app.post("/set_rules", async (req: Req) => {
      const rule = await db.execute<SetRuleRec>({ t: "setrule.create", rule: parseSetRule(Fields.of(req.body)) });
      return [setRuleView(rule)];
    });
    app.delete("/set_rules", async (req: Req, reply) => {
      const input = parseSetRule(Fields.of(req.body));
      // Validated like a create, so a typo is a 404 rather than a silent no-op.
      normalizeSetRule(store, input);
      await db.execute({ t: "setrule.delete", rule: input });
      return noContent(reply);
    });
  };
}

