/** Users: `/users`, `/users/{key}`, `/users/{key}/roles`. */
import type { FastifyInstance } from "fastify";
import { noContent, type PdpContext } from "../../context";
import { invalid, notFound } from "../../errors";
import type { AssignmentRec, UserRec } from "../../model";
import type { UserInput, UserRoleInput } from "../../ops/inputs";
import type { Store } from "../../store";
import { checkFactKey, Fields, Query } from "../../validate";
import { assignmentView, userView } from "../../views";
import { paginated, type Req } from "../request";

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

function findUser(store: Store, key: string): UserRec {
  const rec = store.users.get(key);
  if (!rec) throw notFound(`user '${key}'`);
  return rec;
}

export function userRoutes(app: FastifyInstance, ctx: PdpContext): void {
  const { db, store } = ctx;
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
  app.get("/users/:key", async (req: Req<{ key: string }>) => userView(store, findUser(store, req.params.key)));
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
}
