/** The tutorial policy (contract/policy.md) set up through the SDK's schema API, checked through the SDK. */
import type { Permit } from "permitio";
import { applyTutorialPolicy, decisionLog, startHarness, syncUsers, type Harness } from "./helpers";

let h: Harness;
let permit: Permit;

const note = (key: string, owner?: string, tenant = "default") => ({
  type: "notes",
  key,
  tenant,
  ...(owner ? { attributes: { owner } } : {}),
});

beforeAll(async () => {
  h = await startHarness();
  permit = h.permit;
  await applyTutorialPolicy(permit);
  await syncUsers(permit, ["alice", "bob"], "user");
  await syncUsers(permit, ["carol"], "admin");
  await permit.api.resourceInstances.create({ resource: "notes", key: "n1", tenant: "default", attributes: { owner: "alice" } });
});

afterAll(async () => {
  await h.pdp.close();
});

describe("tutorial policy", () => {
  test("a user may get and post others' notes but not put or delete them", async () => {
    expect(await permit.check("bob", "get", note("n1", "alice"))).toBe(true);
    expect(await permit.check("bob", "post", { type: "notes", tenant: "default" })).toBe(true);
    expect(await permit.check("bob", "put", note("n1", "alice"))).toBe(false);
    expect(await permit.check("bob", "delete", note("n1", "alice"))).toBe(false);
  });

  test("the owner may put and delete their own note, with attributes inline", async () => {
    expect(await permit.check("alice", "put", note("n1", "alice"))).toBe(true);
    expect(await permit.check("alice", "delete", note("n1", "alice"))).toBe(true);
    expect(await permit.check("alice", "put", note("n2", "bob"))).toBe(false);
    expect(await permit.check("alice", "delete", note("n2", "bob"))).toBe(false);
  });

  test("the owner may put and delete their own note from stored attributes alone", async () => {
    expect(await permit.check("alice", "put", "notes:n1")).toBe(true);
    expect(await permit.check("alice", "delete", "notes:n1")).toBe(true);
    expect(await permit.check("bob", "put", "notes:n1")).toBe(false);
    expect(await permit.check("bob", "delete", "notes:n1")).toBe(false);
  });

  test("check-time attributes override stored ones", async () => {
    // Stored owner is alice; the caller says bob: the inline value wins.
    expect(await permit.check("bob", "put", note("n1", "bob"))).toBe(true);
    expect(await permit.check("alice", "put", note("n1", "bob"))).toBe(false);
  });

  test("an admin may do everything; only in its tenant and only on actions that exist", async () => {
    for (const action of ["get", "post", "put", "delete"]) {
      expect(await permit.check("carol", action, note("n1", "alice"))).toBe(true);
    }
    await permit.api.tenants.create({ key: "other", name: "Other" });
    expect(await permit.check("carol", "delete", { type: "notes", key: "x", tenant: "other" })).toBe(false);
    expect(await permit.check("carol", "share", note("n1", "alice"))).toBe(false);
  });

  test("users that were never synced, or have no role, are denied", async () => {
    expect(await permit.check("mallory", "get", note("n1", "alice"))).toBe(false);
    await permit.api.users.sync({ key: "norole" });
    expect(await permit.check("norole", "get", note("n1", "alice"))).toBe(false);
    expect(await permit.check("alice", "get", note("n1", "alice"))).toBe(true);
  });

  test("a role assignment change takes effect on the next check", async () => {
    expect(await permit.check("bob", "delete", note("n1", "alice"))).toBe(false);
    await permit.api.roleAssignments.assign({ user: "bob", role: "admin", tenant: "default" });
    expect(await permit.check("bob", "delete", note("n1", "alice"))).toBe(true);
    await permit.api.roleAssignments.unassign({ user: "bob", role: "admin", tenant: "default" });
    expect(await permit.check("bob", "delete", note("n1", "alice"))).toBe(false);
  });

  test("a policy change takes effect on the next check", async () => {
    expect(await permit.check("bob", "put", note("n1", "alice"))).toBe(false);
    await permit.api.roles.assignPermissions("user", ["notes:put"]);
    expect(await permit.check("bob", "put", note("n1", "alice"))).toBe(true);
    await permit.api.roles.removePermissions("user", ["notes:put"]);
    expect(await permit.check("bob", "put", note("n1", "alice"))).toBe(false);

    // Condition set change: owners lose put/delete while the set matches nobody.
    await permit.api.conditionSets.update("own_notes", { conditions: { allOf: [{ "resource.owner": { equals: "nobody" } }] } });
    expect(await permit.check("alice", "put", note("n1", "alice"))).toBe(false);
    await permit.api.conditionSets.update("own_notes", { conditions: { allOf: [{ "resource.owner": { equals: { ref: "user.key" } } }] } });
    expect(await permit.check("alice", "put", note("n1", "alice"))).toBe(true);

    // Set rule removal.
    await permit.api.conditionSetRules.delete({ user_set: "__autogen_user", permission: "notes:put", resource_set: "own_notes" });
    expect(await permit.check("alice", "put", note("n1", "alice"))).toBe(false);
    expect(await permit.check("alice", "delete", note("n1", "alice"))).toBe(true);
    await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:put", resource_set: "own_notes" });
    expect(await permit.check("alice", "put", note("n1", "alice"))).toBe(true);
  });

  test("bulkCheck answers in order, in one request", async () => {
    const before = ((await h.raw("GET", "/local/stats")).body as { requests: Record<string, number> }).requests["POST /allowed/bulk"] ?? 0;
    const answers = await permit.bulkCheck([
      { user: "alice", action: "put", resource: note("n1", "alice") },
      { user: "bob", action: "put", resource: note("n1", "alice") },
      { user: "carol", action: "delete", resource: note("n1", "alice") },
      { user: "bob", action: "get", resource: "notes:n1" },
      { user: "mallory", action: "get", resource: "notes:n1" },
    ]);
    expect(answers).toEqual([true, false, true, true, false]);
    const after = ((await h.raw("GET", "/local/stats")).body as { requests: Record<string, number> }).requests["POST /allowed/bulk"];
    expect(after).toBe(before + 1);
  });

  test("getUserPermissions lists tenant permissions (RBAC) without ABAC", async () => {
    const perms = await permit.getUserPermissions("bob");
    expect(perms["__tenant:default"]).toEqual({
      tenant: { key: "default", attributes: {} },
      permissions: ["notes:get", "notes:post"],
      roles: ["user"],
    });
    expect(perms["notes:n1"]).toBeUndefined();
    const admin = await permit.getUserPermissions("carol", ["default"], undefined, ["__tenant"]);
    expect(admin["__tenant:default"].permissions).toEqual(["notes:delete", "notes:get", "notes:post", "notes:put"]);
    expect(await permit.getUserPermissions("carol", ["default"], undefined, ["notes"])).toEqual({});
  });

  test("/allowed explains the decision: model and reason code", async () => {
    const allowed = await h.raw("POST", "/allowed", { user: { key: "alice" }, action: "put", resource: note("n1", "alice"), context: {} });
    expect(allowed.status).toBe(200);
    const a = allowed.body as { allow: boolean; result: boolean; debug: Record<string, { allow: boolean; code: string }> & { allowed_by: string[] } };
    expect(a.allow).toBe(true);
    expect(a.result).toBe(true);
    expect(a.debug.allowed_by).toEqual(["abac"]);
    expect(a.debug.abac).toMatchObject({ allow: true, code: "allow" });

    const denied = await h.raw("POST", "/allowed", { user: { key: "bob" }, action: "put", resource: note("n1", "alice"), context: {} });
    const d = denied.body as { allow: boolean; debug: Record<string, { allow: boolean; code: string }> & { allowed_by: string[] } };
    expect(d.allow).toBe(false);
    expect(d.debug.allowed_by).toEqual([]);
    expect(d.debug.rbac).toMatchObject({ allow: false, code: "no_permission" });
    expect(d.debug.abac).toMatchObject({ allow: false, code: "no_matching_resourcesets" });
    expect(d.debug.rebac).toMatchObject({ allow: false, code: "no_graph_roles" });
  });

  test("the decision log records each decision with its model, and filters", async () => {
    await permit.check("carol", "get", note("n1", "alice"));
    await permit.check("mallory", "get", note("n1", "alice"));
    const allowedForCarol = await decisionLog(h, "?user=carol&allow=true&limit=1");
    expect(allowedForCarol).toHaveLength(1);
    expect(allowedForCarol[0]).toMatchObject({ user: "carol", action: "get", allow: true, allowed_by: ["rbac"] });
    const deniedForMallory = await decisionLog(h, "?user=mallory&allow=false&limit=1");
    expect(deniedForMallory[0]).toMatchObject({ user: "mallory", allow: false, allowed_by: [] });
    expect(deniedForMallory[0].codes.rbac).toBe("user_not_synced");
    expect(await decisionLog(h, "?user=carol&action=share&allow=true")).toEqual([]);
  });
});
