/** The HTTP contract: authentication, scope, status codes, error bodies, bad input, stats and the decision log. */
import fc from "fast-check";
import { Permit, PermitConnectionError } from "permitio";
import { applyTutorialPolicy, applyWorkspacePolicy, FACTS, rawRequest, SCHEMA, sdk, startHarness, syncUsers, type Harness, statusOf } from "./helpers";

let h: Harness;
let permit: Permit;


beforeAll(async () => {
  h = await startHarness({ decisionLogSize: 50 });
  permit = h.permit;
  await applyTutorialPolicy(permit);
  await applyWorkspacePolicy(permit);
  await syncUsers(permit, ["alice", "bob"], "user");
});

afterAll(async () => {
  await h.pdp.close();
});

describe("authentication", () => {
  test("every route but /healthy needs the bearer key", async () => {
    expect((await h.raw("GET", "/healthy", undefined, {})).status).toBe(200);
    const missing = await h.raw("POST", "/allowed", { user: { key: "alice" }, action: "get", resource: { type: "notes" } }, {});
    expect(missing).toEqual({ status: 401, body: { detail: "Missing Authorization header", message: "Missing Authorization header" } });
    const wrong = await h.raw("GET", `${FACTS}/users/alice`, undefined, { authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect((wrong.body as { detail: string }).detail).toBe("Invalid PDP token");
    expect((await h.raw("GET", `${FACTS}/users/alice`, undefined, { authorization: "Basic x" })).status).toBe(401);
    expect((await h.raw("GET", `${FACTS}/users/alice`)).status).toBe(200);
  });

  test("the SDK with a wrong key fails loudly on checks and API calls", async () => {
    const intruder = sdk(h.pdp.url, "wrong-key");
    await expect(intruder.check("alice", "get", "notes:n1")).rejects.toBeInstanceOf(PermitConnectionError);
    await expect(intruder.api.users.get("alice")).rejects.toThrow(/api key scope/);
    await expect(permit.check("alice", "get", "notes:n1")).resolves.toBe(true);
  });
});

describe("scope", () => {
  test("the scope call names one project and environment, and only those are served", async () => {
    const scope = await h.raw("GET", "/v2/api-key/scope");
    expect(scope.body).toEqual({ organization_id: "org_local", project_id: "proj_local", environment_id: "env_local" });
    expect((await h.raw("GET", "/v2/facts/other/env_local/users/alice")).status).toBe(404);
    expect((await h.raw("GET", "/v2/schema/proj_local/prod/resources")).status).toBe(404);
    expect((await h.raw("GET", "/v2/facts/proj_local/env_local/users/alice")).status).toBe(200);
  });
});

describe("status codes the SDK expects", () => {
  test("users: 404 missing, 409 duplicate, sync 201 then 200, delete 204", async () => {
    expect(await statusOf(permit.api.users.get("nobody"))).toBe(404);
    expect(await statusOf(permit.api.users.create({ key: "alice" }))).toBe(409);
    expect((await permit.api.users.sync({ key: "carl", email: "c@example.com" })).created).toBe(true);
    expect((await permit.api.users.sync({ key: "carl", email: "c2@example.com" })).created).toBe(false);
    expect((await permit.api.users.get("carl")).email).toBe("c2@example.com");
    expect((await h.raw("DELETE", `${FACTS}/users/carl`)).status).toBe(204);
    expect(await statusOf(permit.api.users.delete("carl"))).toBe(404);
  });

  test("tenants and instances: idempotent creates (201 then 200); an instance cannot move tenant (409)", async () => {
    expect((await h.raw("POST", `${FACTS}/tenants`, { key: "t9", name: "T9" })).status).toBe(201);
    expect((await h.raw("POST", `${FACTS}/tenants`, { key: "t9", name: "T9" })).status).toBe(200);
    expect((await h.raw("POST", `${FACTS}/resource_instances`, { key: "i1", resource: "notes", tenant: "default" })).status).toBe(201);
    expect((await h.raw("POST", `${FACTS}/resource_instances`, { key: "i1", resource: "notes", tenant: "default" })).status).toBe(200);
    expect((await h.raw("POST", `${FACTS}/resource_instances`, { key: "i1", resource: "notes", tenant: "t9" })).status).toBe(409);
    expect((await h.raw("GET", `${FACTS}/resource_instances/notes%3Ai1`)).status).toBe(200);
    expect((await h.raw("DELETE", `${FACTS}/resource_instances/notes%3Ai1`)).status).toBe(204);
    expect((await h.raw("GET", `${FACTS}/resource_instances/notes%3Ai1`)).status).toBe(404);
  });

  test("role assignments: 409 duplicate, 404 unassign of what is not assigned, 422 without a tenant", async () => {
    expect(await statusOf(permit.api.roleAssignments.assign({ user: "alice", role: "user", tenant: "default" }))).toBe(409);
    expect(await statusOf(permit.api.roleAssignments.unassign({ user: "alice", role: "admin", tenant: "default" }))).toBe(404);
    expect(await statusOf(permit.api.roleAssignments.assign({ user: "alice", role: "admin" }))).toBe(422);
    expect(await statusOf(permit.api.roleAssignments.assign({ user: "ghost", role: "admin", tenant: "default" }))).toBe(404);
    expect(await statusOf(permit.api.roleAssignments.assign({ user: "alice", role: "ghost", tenant: "default" }))).toBe(404);
    expect(await statusOf(permit.api.roleAssignments.assign({ user: "alice", role: "owner", resource_instance: "workspaces:nowhere" }))).toBe(404);
    const listed = await permit.api.roleAssignments.list({ user: "alice" });
    expect(listed.map((a) => [a.role, a.tenant])).toEqual([["user", "default"]]);
  });

  test("tuples: 409 duplicate, 404 delete of a missing tuple, 400 relation type mismatch", async () => {
    const tuple = { subject: "workspaces:w1", relation: "parent", object: "notes:t1", tenant: "default" };
    await permit.api.relationshipTuples.create(tuple);
    expect(await statusOf(permit.api.relationshipTuples.create(tuple))).toBe(409);
    expect(await statusOf(permit.api.relationshipTuples.delete({ subject: "workspaces:w1", relation: "parent", object: "notes:none" }))).toBe(404);
    expect(await statusOf(permit.api.relationshipTuples.create({ subject: "notes:t1", relation: "parent", object: "notes:t2", tenant: "default" }))).toBe(400);
    expect(await statusOf(permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "child", object: "notes:t2", tenant: "default" }))).toBe(404);
  });

  test("schema: 409 duplicates, 404 unknown references, 204 deletes, PATCH replaces derivations", async () => {
    expect(await statusOf(permit.api.resources.create({ key: "notes", name: "Notes", actions: {} }))).toBe(409);
    expect(await statusOf(permit.api.roles.create({ key: "user", name: "User" }))).toBe(409);
    expect(await statusOf(permit.api.roles.create({ key: "r1", name: "R1", permissions: ["ghosts:get"] }))).toBe(404);
    expect(await statusOf(permit.api.roles.create({ key: "r1", name: "R1", permissions: ["notes:fly"] }))).toBe(404);
    expect(await statusOf(permit.api.resourceRoles.create("notes", { key: "r1", name: "R1", permissions: ["fly"] }))).toBe(404);
    expect(await statusOf(permit.api.conditionSets.create({ key: "own_notes", name: "dup", type: "resourceset", resource_id: "notes" }))).toBe(409);
    expect(await statusOf(permit.api.resourceRelations.create("notes", { key: "parent", name: "p", subject_resource: "workspaces" }))).toBe(409);
    expect(await statusOf(permit.api.conditionSetRules.create({ user_set: "ghost_set", permission: "notes:get", resource_set: "own_notes" }))).toBe(404);

    const rule = await permit.api.conditionSetRules.create({ user_set: "__autogen_admin", permission: "notes:get", resource_set: "own_notes" });
    expect(rule).toMatchObject({ user_set: "__autogen_admin", permission: "notes:get", resource_set: "own_notes" });
    const again = await permit.api.conditionSetRules.create({ user_set: "admin", is_role: true, permission: "notes:get", resource_set: "own_notes" });
    expect(again.id).toBe(rule.id);

    const role = await permit.api.resourceRoles.update("notes", "viewer", { granted_to: { users_with_role: [] } });
    expect(role.granted_to?.users_with_role).toEqual([]);
    const restored = await permit.api.resourceRoles.update("notes", "viewer", {
      granted_to: { users_with_role: [{ role: "viewer", on_resource: "workspaces", linked_by_relation: "parent" }] },
    });
    expect(restored.granted_to?.users_with_role).toMatchObject([{ role: "viewer", on_resource: "workspaces", linked_by_relation: "parent" }]);

    // Inline roles of one body may derive from each other, whatever their order.
    const inline = await permit.api.resources.create({
      key: "box",
      name: "Box",
      actions: { open: {} },
      relations: { parent: "box" },
      roles: {
        viewer: { name: "Viewer", permissions: ["open"], granted_to: { users_with_role: [{ role: "keeper", on_resource: "box", linked_by_relation: "parent" }] } },
        keeper: { name: "Keeper", permissions: ["open"] },
      },
    });
    expect(Object.keys(inline.roles ?? {}).sort()).toEqual(["keeper", "viewer"]);
    await permit.api.roleAssignments.assign({ user: "bob", role: "keeper", resource_instance: "box:outer", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "box:outer", relation: "parent", object: "box:inner", tenant: "default" });
    expect(await permit.check("bob", "open", { type: "box", key: "inner", tenant: "default" })).toBe(true);
    expect(await permit.check("alice", "open", { type: "box", key: "inner", tenant: "default" })).toBe(false);

    await permit.api.resources.create({ key: "scratch", name: "Scratch", actions: { go: {} } });
    await permit.api.roles.assignPermissions("admin", ["scratch:go"]);
    expect((await h.raw("DELETE", `${SCHEMA}/resources/scratch`)).status).toBe(204);
    expect((await permit.api.roles.get("admin")).permissions).not.toContain("scratch:go");
    expect(await statusOf(permit.api.resources.get("scratch"))).toBe(404);
  });
});

describe("bad input", () => {
  test("malformed JSON and missing fields are 422 with a message", async () => {
    const malformed = await h.raw("POST", "/allowed", "{not json");
    expect(malformed.status).toBe(422);
    expect((malformed.body as { message: string }).message).toMatch(/malformed JSON/);
    expect((await h.raw("POST", "/allowed", { action: "get", resource: { type: "notes" } })).status).toBe(422);
    expect((await h.raw("POST", "/allowed", { user: { key: "a" }, action: 5, resource: { type: "notes" } })).status).toBe(422);
    expect((await h.raw("POST", "/allowed/bulk", { user: { key: "a" } })).status).toBe(422);
    expect((await h.raw("POST", `${FACTS}/users`, { email: "x" })).status).toBe(422);
    expect((await h.raw("POST", `${SCHEMA}/resources`, { key: "bad key", name: "x", actions: {} })).status).toBe(422);
    expect((await h.raw("POST", `${SCHEMA}/resources`, { key: "__tenant", name: "x", actions: {} })).status).toBe(422);
    expect((await h.raw("POST", `${FACTS}/users`, { key: "bad\u0001key" })).status).toBe(422);
    expect((await h.raw("GET", `${FACTS}/users?per_page=1000`)).status).toBe(422);
    expect((await h.raw("GET", "/no/such/route")).status).toBe(404);
  });

  test("long keys work in paths; a __proto__ key in a body is dropped, not used", async () => {
    const key = `u-${"x".repeat(400)}`;
    await permit.api.users.sync({ key, attributes: { plan: "free" } });
    expect((await permit.api.users.get(key)).key).toBe(key);
    const res = await h.raw("PATCH", `${FACTS}/users/${encodeURIComponent(key)}`, '{"attributes":{"__proto__":{"plan":"premium"}}}');
    expect(res.status).toBe(200);
    expect((res.body as { attributes: Record<string, unknown> }).attributes).toEqual({});
    expect(({} as Record<string, unknown>).plan).toBeUndefined();
  });

  test("checks on unknown resources or actions are denials with a reason, not errors", async () => {
    const res = await h.raw("POST", "/allowed", { user: { key: "alice" }, action: "fly", resource: { type: "notes", tenant: "default" } });
    expect(res.status).toBe(200);
    expect((res.body as { allow: boolean; debug: { rbac: { code: string } } }).debug.rbac.code).toBe("no_such_action");
    expect(await permit.check("alice", "get", { type: "ghosts", tenant: "default" })).toBe(false);
    expect(await permit.check("alice", "get", { type: "notes", tenant: "default" })).toBe(true);
  });

  test("a bulk with one bad element is rejected whole, before any decision is made", async () => {
    const before = ((await h.raw("GET", "/local/decisions?limit=1")).body as { last_seq: number }).last_seq;
    const res = await h.raw("POST", "/allowed/bulk", [
      { user: { key: "alice" }, action: "get", resource: { type: "notes", tenant: "default" } },
      { user: { key: "alice" }, resource: { type: "notes" } },
    ]);
    expect(res.status).toBe(422);
    expect((res.body as { detail: { loc: unknown[] }[] }).detail[0].loc).toEqual(["body", 1, "action"]);
    expect(((await h.raw("GET", "/local/decisions?limit=1")).body as { last_seq: number }).last_seq).toBe(before);
  });

  test("a failed write changes nothing (bulk tuples with one bad item)", async () => {
    const res = await h.raw("POST", `${FACTS}/relationship_tuples/bulk`, {
      operations: [
        { subject: "workspaces:bw", relation: "parent", object: "notes:b1", tenant: "default" },
        { subject: "workspaces:bw2", relation: "parent", object: "notes:b2", tenant: "nowhere" },
      ],
    });
    expect(res.status).toBe(404);
    expect((res.body as { message: string }).message).toMatch(/item 1/);
    expect(await statusOf(permit.api.resourceInstances.get("workspaces:bw"))).toBe(404);
    expect(await permit.api.relationshipTuples.list({ object: "notes:b1" })).toEqual([]);
  });

  test("random bodies on every write route: never a 5xx", async () => {
    const routes: [string, string][] = [
      ["POST", "/allowed"],
      ["POST", "/allowed/bulk"],
      ["POST", "/user-permissions"],
      ["POST", `${FACTS}/users`],
      ["PUT", `${FACTS}/users/fuzz`],
      ["PATCH", `${FACTS}/users/alice`],
      ["POST", `${FACTS}/tenants`],
      ["POST", `${FACTS}/resource_instances`],
      ["PATCH", `${FACTS}/resource_instances/notes%3Afz`],
      ["POST", `${FACTS}/role_assignments`],
      ["DELETE", `${FACTS}/role_assignments`],
      ["POST", `${FACTS}/role_assignments/bulk`],
      ["POST", `${FACTS}/relationship_tuples`],
      ["POST", `${FACTS}/relationship_tuples/bulk`],
      ["POST", `${FACTS}/set_rules`],
      ["POST", `${SCHEMA}/resources`],
      ["PATCH", `${SCHEMA}/resources/notes`],
      ["POST", `${SCHEMA}/roles`],
      ["POST", `${SCHEMA}/resources/notes/roles`],
      ["POST", `${SCHEMA}/resources/notes/roles/viewer/implicit_grants`],
      ["POST", `${SCHEMA}/condition_sets`],
      ["PATCH", `${SCHEMA}/condition_sets/own_notes`],
    ];
    const field = fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom("notes", "notes:n1", "default", "alice", "user", "get", "parent"));
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record(
        {
          key: field,
          user: fc.oneof(field, fc.record({ key: field })),
          role: field,
          tenant: field,
          resource: fc.oneof(field, fc.record({ type: field, key: field })),
          action: field,
          subject: field,
          relation: field,
          object: field,
          permissions: fc.array(field, { maxLength: 2 }),
          conditions: fc.jsonValue({ maxDepth: 2 }),
          actions: fc.dictionary(field, fc.constant({}), { maxKeys: 2 }),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), body, async ([method, path], payload) => {
        const res = await rawRequest(h.pdp.url, method, path, payload === undefined ? null : payload);
        expect(res.status).toBeLessThan(500);
      }),
      { numRuns: 300, seed: 7 },
    );
    // The policy still answers as before.
    expect(await permit.check("alice", "get", { type: "notes", tenant: "default" })).toBe(true);
  });
});

describe("local endpoints", () => {
  test("/local/stats counts requests by route pattern and can be reset", async () => {
    expect((await h.raw("POST", "/local/stats/reset")).status).toBe(204);
    await permit.bulkCheck([{ user: "alice", action: "get", resource: "notes:n1" }]);
    await permit.bulkCheck([{ user: "bob", action: "get", resource: "notes:n1" }]);
    await permit.check("alice", "get", "notes:n1");
    await permit.api.users.get("alice");
    const stats = (await h.raw("GET", "/local/stats")).body as { requests: Record<string, number> };
    expect(stats.requests["POST /allowed/bulk"]).toBe(2);
    expect(stats.requests["POST /allowed"]).toBe(1);
    expect(stats.requests["GET /v2/facts/:proj/:env/users/:key"]).toBe(1);
    expect(stats.requests["POST /user-permissions"]).toBeUndefined();
    // Reading the stats is not counted: the totals are exactly the calls made above.
    expect(Object.values(stats.requests).reduce((a, b) => a + b, 0)).toBe(4);
  });

  test("the decision log is bounded and newest first", async () => {
    for (let i = 0; i < 60; i++) await permit.check("bob", "get", `notes:x${i}`);
    expect((await h.raw("GET", "/local/decisions?limit=0")).status).toBe(422);
    const all = (await h.raw("GET", "/local/decisions?limit=1000")).body as { capacity: number; decisions: { resource: { key: string } }[] };
    expect(all.capacity).toBe(50);
    expect(all.decisions).toHaveLength(50);
    expect(all.decisions[0].resource.key).toBe("x59");
    expect(all.decisions[49].resource.key).toBe("x10");
  });

  test("getUserPermissions honours the tenants, resources and resource_types filters", async () => {
    await syncUsers(permit, ["filt"]);
    await permit.api.roleAssignments.assign({ user: "filt", role: "user", tenant: "default" });
    await permit.api.roleAssignments.assign({ user: "filt", role: "owner", resource_instance: "workspaces:fw", tenant: "default" });
    const all = await permit.getUserPermissions("filt");
    expect(Object.keys(all).sort()).toEqual(["__tenant:default", "workspaces:fw"]);
    expect(Object.keys(await permit.getUserPermissions("filt", undefined, undefined, ["workspaces"]))).toEqual(["workspaces:fw"]);
    expect(Object.keys(await permit.getUserPermissions("filt", undefined, ["workspaces:other"]))).toEqual(["__tenant:default"]);
    expect(Object.keys(await permit.getUserPermissions("filt", ["t-none"]))).toEqual([]);
  });
});
