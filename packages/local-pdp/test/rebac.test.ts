/** Relationship-based decisions: direct instance roles, derivations through tuples, and their limits. */
import type { Permit } from "permitio";
import { applyTutorialPolicy, applyWorkspacePolicy, startHarness, syncUsers, type Harness, statusOf } from "./helpers";

let h: Harness;
let permit: Permit;

const notes = (key: string, tenant = "default") => ({ type: "notes", key, tenant });

beforeAll(async () => {
  h = await startHarness();
  permit = h.permit;
  await applyTutorialPolicy(permit);
  await applyWorkspacePolicy(permit);
  // No tenant roles: every allow below comes from relationships.
  await syncUsers(permit, ["owner", "editor", "viewer", "stranger"]);
  await permit.api.resourceInstances.create({ resource: "workspaces", key: "w1", tenant: "default" });
  await permit.api.roleAssignments.assign({ user: "owner", role: "owner", resource_instance: "workspaces:w1", tenant: "default" });
  await permit.api.roleAssignments.assign({ user: "editor", role: "editor", resource_instance: "workspaces:w1" });
  await permit.api.roleAssignments.assign({ user: "viewer", role: "viewer", resource_instance: "workspaces:w1" });
  await permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "parent", object: "notes:n1", tenant: "default" });
});

afterAll(async () => {
  await h.pdp.close();
});

describe("workspace → note derivations (contract/policy.md)", () => {
  test("workspace owners manage the workspace's notes", async () => {
    for (const action of ["get", "put", "delete"]) expect(await permit.check("owner", action, notes("n1"))).toBe(true);
    expect(await permit.check("owner", "share", { type: "workspaces", key: "w1", tenant: "default" })).toBe(true);
    // A note outside the workspace gets nothing from it.
    expect(await permit.check("owner", "get", notes("elsewhere"))).toBe(false);
  });

  test("editors may get and put but not delete; viewers may only get; strangers nothing", async () => {
    expect(await permit.check("editor", "get", notes("n1"))).toBe(true);
    expect(await permit.check("editor", "put", notes("n1"))).toBe(true);
    expect(await permit.check("editor", "delete", notes("n1"))).toBe(false);
    expect(await permit.check("viewer", "get", notes("n1"))).toBe(true);
    expect(await permit.check("viewer", "put", notes("n1"))).toBe(false);
    expect(await permit.check("stranger", "get", notes("n1"))).toBe(false);
    expect(await permit.check("editor", "add_note", { type: "workspaces", key: "w1", tenant: "default" })).toBe(true);
    expect(await permit.check("viewer", "add_note", { type: "workspaces", key: "w1", tenant: "default" })).toBe(false);
  });

  test("a type-level check (no key) never uses instance roles", async () => {
    expect(await permit.check("owner", "get", { type: "notes", tenant: "default" })).toBe(false);
    expect(await permit.check("owner", "get", notes("n1"))).toBe(true);
  });

  test("getUserPermissions lists the derived instance roles", async () => {
    const perms = await permit.getUserPermissions("editor");
    expect(perms["notes:n1"]).toEqual({
      resource: { key: "n1", type: "notes", attributes: {} },
      permissions: ["notes:get", "notes:put"],
      roles: ["editor"],
    });
    expect(perms["workspaces:w1"].roles).toEqual(["editor"]);
    expect(await permit.getUserPermissions("stranger")).toEqual({});
  });

  test("deleting the tuple or unassigning the role revokes; recreating restores", async () => {
    await permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "parent", object: "notes:n9", tenant: "default" });
    expect(await permit.check("viewer", "get", notes("n9"))).toBe(true);
    await permit.api.relationshipTuples.delete({ subject: "workspaces:w1", relation: "parent", object: "notes:n9" });
    expect(await permit.check("viewer", "get", notes("n9"))).toBe(false);

    await permit.api.roleAssignments.unassign({ user: "viewer", role: "viewer", resource_instance: "workspaces:w1" });
    expect(await permit.check("viewer", "get", notes("n1"))).toBe(false);
    await permit.api.roleAssignments.assign({ user: "viewer", role: "viewer", resource_instance: "workspaces:w1" });
    expect(await permit.check("viewer", "get", notes("n1"))).toBe(true);
  });

  test("deleting an instance removes its tuples and roles", async () => {
    await permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "parent", object: "notes:gone", tenant: "default" });
    expect(await permit.check("owner", "delete", notes("gone"))).toBe(true);
    await permit.api.resourceInstances.delete("notes:gone");
    expect(await permit.check("owner", "delete", notes("gone"))).toBe(false);
    const left = await permit.api.relationshipTuples.list({ object: "notes:gone" });
    expect(left).toEqual([]);
  });
});

describe("transitive derivations", () => {
  beforeAll(async () => {
    await permit.api.resources.create({ key: "org", name: "Org", actions: { manage: {} }, roles: { admin: { name: "Admin", permissions: ["manage"] } } });
    await permit.api.resources.create({ key: "folder", name: "Folder", actions: { read: {}, write: {} }, relations: { org: "org" } });
    await permit.api.resourceRelations.create("folder", { key: "parent", name: "Parent", subject_resource: "folder" });
    await permit.api.resources.create({ key: "doc", name: "Doc", actions: { read: {}, write: {} } });
    await permit.api.resourceRelations.create("doc", { key: "parent", name: "Parent", subject_resource: "folder" });
    await permit.api.resourceRoles.create("folder", {
      key: "editor",
      name: "Editor",
      permissions: ["read", "write"],
      granted_to: {
        users_with_role: [
          { role: "admin", on_resource: "org", linked_by_relation: "org" },
          { role: "editor", on_resource: "folder", linked_by_relation: "parent" },
        ],
      },
    });
    await permit.api.resourceRoles.create("doc", {
      key: "editor",
      name: "Editor",
      permissions: ["read", "write"],
      granted_to: { users_with_role: [{ role: "editor", on_resource: "folder", linked_by_relation: "parent" }] },
    });
    await syncUsers(permit, ["orgadmin"]);
    await permit.api.roleAssignments.assign({ user: "orgadmin", role: "admin", resource_instance: "org:acme", tenant: "default" });
    // org:acme → folder:root → folder:sub → doc:d1 (three hops); doc:d2 hangs off an unrelated folder.
    await permit.api.relationshipTuples.bulkRelationshipTuples([
      { subject: "org:acme", relation: "org", object: "folder:root", tenant: "default" },
      { subject: "folder:root", relation: "parent", object: "folder:sub", tenant: "default" },
      { subject: "folder:sub", relation: "parent", object: "doc:d1", tenant: "default" },
      { subject: "folder:other", relation: "parent", object: "doc:d2", tenant: "default" },
    ]);
  });

  test("an org admin is editor of a document three hops below", async () => {
    expect(await permit.check("orgadmin", "write", { type: "doc", key: "d1", tenant: "default" })).toBe(true);
    expect(await permit.check("orgadmin", "write", { type: "folder", key: "sub", tenant: "default" })).toBe(true);
    expect(await permit.check("orgadmin", "write", { type: "doc", key: "d2", tenant: "default" })).toBe(false);
  });

  test("a cycle in the tuples neither hangs nor grants anything new", async () => {
    await permit.api.relationshipTuples.create({ subject: "folder:sub", relation: "parent", object: "folder:root", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "folder:other", relation: "parent", object: "folder:other2", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "folder:other2", relation: "parent", object: "folder:other", tenant: "default" });
    expect(await permit.check("orgadmin", "read", { type: "doc", key: "d1", tenant: "default" })).toBe(true);
    expect(await permit.check("orgadmin", "read", { type: "doc", key: "d2", tenant: "default" })).toBe(false);
  });

  test("breaking the middle link revokes the whole chain below it", async () => {
    await permit.api.relationshipTuples.delete({ subject: "folder:root", relation: "parent", object: "folder:sub" });
    await permit.api.relationshipTuples.delete({ subject: "folder:sub", relation: "parent", object: "folder:root" });
    expect(await permit.check("orgadmin", "write", { type: "doc", key: "d1", tenant: "default" })).toBe(false);
    expect(await permit.check("orgadmin", "write", { type: "folder", key: "root", tenant: "default" })).toBe(true);
    await permit.api.relationshipTuples.create({ subject: "folder:root", relation: "parent", object: "folder:sub", tenant: "default" });
    expect(await permit.check("orgadmin", "write", { type: "doc", key: "d1", tenant: "default" })).toBe(true);
  });
});

describe("no_direct_roles_on_object", () => {
  beforeAll(async () => {
    await permit.api.resources.create({ key: "project", name: "Project", actions: { view: {}, edit: {} }, relations: { org: "org" } });
    await permit.api.resourceRoles.create("project", { key: "viewer", name: "Viewer", permissions: ["view"] });
    await permit.api.resourceRoles.create("project", {
      key: "editor",
      name: "Editor",
      permissions: ["view", "edit"],
      granted_to: { users_with_role: [{ role: "admin", on_resource: "org", linked_by_relation: "org" }], when: { no_direct_roles_on_object: true } },
    });
    await syncUsers(permit, ["lead"]);
    await permit.api.roleAssignments.assign({ user: "lead", role: "admin", resource_instance: "org:beta", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "org:beta", relation: "org", object: "project:p1", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "org:beta", relation: "org", object: "project:p2", tenant: "default" });
  });

  test("a direct role on the object suppresses the derived one", async () => {
    expect(await permit.check("lead", "edit", { type: "project", key: "p1", tenant: "default" })).toBe(true);
    await permit.api.roleAssignments.assign({ user: "lead", role: "viewer", resource_instance: "project:p1" });
    expect(await permit.check("lead", "edit", { type: "project", key: "p1", tenant: "default" })).toBe(false);
    expect(await permit.check("lead", "view", { type: "project", key: "p1", tenant: "default" })).toBe(true);
    // Only on that object: p2 still derives editor.
    expect(await permit.check("lead", "edit", { type: "project", key: "p2", tenant: "default" })).toBe(true);
    await permit.api.roleAssignments.unassign({ user: "lead", role: "viewer", resource_instance: "project:p1" });
    expect(await permit.check("lead", "edit", { type: "project", key: "p1", tenant: "default" })).toBe(true);
  });

  test("the condition can be switched off and on per role", async () => {
    await permit.api.roleAssignments.assign({ user: "lead", role: "viewer", resource_instance: "project:p1" });
    await permit.api.resourceRoles.updateRoleDerivationConditions("project", "editor", { no_direct_roles_on_object: false });
    expect(await permit.check("lead", "edit", { type: "project", key: "p1", tenant: "default" })).toBe(true);
    await permit.api.resourceRoles.updateRoleDerivationConditions("project", "editor", { no_direct_roles_on_object: true });
    expect(await permit.check("lead", "edit", { type: "project", key: "p1", tenant: "default" })).toBe(false);
  });
});

describe("per-rule conditions on implicit grants", () => {
  beforeAll(async () => {
    await permit.api.resources.create({ key: "repo", name: "Repo", actions: { pull: {}, push: {} }, relations: { org: "org" } });
    await permit.api.resourceRoles.create("repo", { key: "reader", name: "Reader", permissions: ["pull"] });
    await permit.api.resourceRoles.create("repo", { key: "maintainer", name: "Maintainer", permissions: ["pull", "push"] });
    await permit.api.resourceRoles.createRoleDerivation("repo", "maintainer", {
      role: "admin",
      on_resource: "org",
      linked_by_relation: "org",
      when: { no_direct_roles_on_object: true },
    });
    await syncUsers(permit, ["dev"]);
    await permit.api.roleAssignments.assign({ user: "dev", role: "admin", resource_instance: "org:gamma", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "org:gamma", relation: "org", object: "repo:r1", tenant: "default" });
    await permit.api.relationshipTuples.create({ subject: "org:gamma", relation: "org", object: "repo:r2", tenant: "default" });
  });

  test("`when` on one implicit grant suppresses only that derivation, only where a direct role exists", async () => {
    await permit.api.roleAssignments.assign({ user: "dev", role: "reader", resource_instance: "repo:r1" });
    expect(await permit.check("dev", "push", { type: "repo", key: "r1", tenant: "default" })).toBe(false);
    expect(await permit.check("dev", "pull", { type: "repo", key: "r1", tenant: "default" })).toBe(true);
    expect(await permit.check("dev", "push", { type: "repo", key: "r2", tenant: "default" })).toBe(true);
  });

  test("deleting the implicit grant removes the derived role", async () => {
    await permit.api.resourceRoles.deleteRoleDerivation("repo", "maintainer", { role: "admin", on_resource: "org", linked_by_relation: "org" });
    expect(await permit.check("dev", "push", { type: "repo", key: "r2", tenant: "default" })).toBe(false);
    expect(await permit.check("dev", "pull", { type: "repo", key: "r1", tenant: "default" })).toBe(true);
  });
});

describe("tenant isolation", () => {
  beforeAll(async () => {
    await permit.api.tenants.create({ key: "acme", name: "Acme" });
    await syncUsers(permit, ["acmeowner"]);
    await permit.api.roleAssignments.assign({ user: "acmeowner", role: "owner", resource_instance: "workspaces:aw", tenant: "acme" });
    await permit.api.relationshipTuples.create({ subject: "workspaces:aw", relation: "parent", object: "notes:an", tenant: "acme" });
  });

  test("instance roles count only when the check names the instance's tenant", async () => {
    expect(await permit.check("acmeowner", "delete", notes("an", "acme"))).toBe(true);
    expect(await permit.check("acmeowner", "delete", notes("an", "default"))).toBe(false);
    const res = await h.raw("POST", "/allowed", { user: { key: "acmeowner" }, action: "delete", resource: notes("an", "default"), context: {} });
    expect((res.body as { debug: { rebac: { code: string } } }).debug.rebac.code).toBe("tenant_mismatch");
  });

  test("tuples and assignments cannot cross tenants", async () => {
    expect(await statusOf(permit.api.relationshipTuples.create({ subject: "workspaces:aw", relation: "parent", object: "notes:n1" }))).toBe(400);
    expect(
      await statusOf(permit.api.roleAssignments.assign({ user: "acmeowner", role: "owner", resource_instance: "workspaces:w1", tenant: "acme" })),
    ).toBe(400);
    expect(await permit.check("acmeowner", "get", notes("n1"))).toBe(false);
  });

  test("deleting a tenant removes its instances, roles and tuples", async () => {
    await permit.api.tenants.create({ key: "doomed", name: "Doomed" });
    await permit.api.roleAssignments.assign({ user: "acmeowner", role: "owner", resource_instance: "workspaces:dw", tenant: "doomed" });
    await permit.api.relationshipTuples.create({ subject: "workspaces:dw", relation: "parent", object: "notes:dn", tenant: "doomed" });
    expect(await permit.check("acmeowner", "get", notes("dn", "doomed"))).toBe(true);
    await permit.api.tenants.delete("doomed");
    expect(await permit.check("acmeowner", "get", notes("dn", "doomed"))).toBe(false);
    expect(await statusOf(permit.api.resourceInstances.get("notes:dn"))).toBe(404);
  });
});
