import { Actions, NoteAction, Resource, TenantRole, WorkspaceRoleKey, policy, validatePolicy, workspaceRoleFromKey, workspaceRoleKey, type Policy } from "./policy";
import { WorkspaceRole } from "../workspaces/workspace-member.entity";

describe("policy", () => {
  it("is internally consistent", () => {
    expect(validatePolicy(policy)).toEqual([]);
  });

  it("gives admin every action of every resource and user only notes get/post", () => {
    const admin = policy.roles.find((r) => r.key === TenantRole.admin)!;
    const user = policy.roles.find((r) => r.key === TenantRole.user)!;
    const every = Object.entries(Actions).flatMap(([type, actions]) => actions.map((a) => `${type}:${a}`));
    expect([...admin.permissions].sort()).toEqual(every.sort());
    expect([...user.permissions].sort()).toEqual(["notes:get", "notes:post"]);
  });

  it("derives every note role from the workspace role of the same rank through `parent`", () => {
    const notes = policy.resources.find((r) => r.key === Resource.notes)!;
    const derived = Object.fromEntries(notes.roles.map((r) => [r.key, r.grantedTo?.map((d) => `${d.onResource}#${d.role}@${d.linkedByRelation}`)]));
    expect(derived).toEqual({
      manager: ["workspaces#owner@parent"],
      editor: ["workspaces#editor@parent"],
      viewer: ["workspaces#viewer@parent"],
    });
  });

  it("maps the GraphQL WorkspaceRole enum to resource role keys and back", () => {
    for (const role of Object.values(WorkspaceRole)) expect(workspaceRoleFromKey(workspaceRoleKey(role))).toBe(role);
    expect(workspaceRoleKey(WorkspaceRole.OWNER)).toBe(WorkspaceRoleKey.owner);
    expect(workspaceRoleFromKey("manager")).toBeUndefined();
  });

  it("reports dangling names in a broken policy", () => {
    const broken: Policy = {
      ...policy,
      roles: [{ key: TenantRole.user, name: "User", permissions: ["notes:fly", "folders:get", `notes:${NoteAction.get}`] }],
      setRules: [{ userSet: "__autogen_nobody", resourceSet: "own_notes", permissions: ["workspaces:post"] }],
    };
    expect(validatePolicy(broken)).toEqual([
      'tenant role user: unknown action in "notes:fly"',
      'tenant role user: unknown resource in "folders:get"',
      "set rule __autogen_nobody × own_notes: unknown user set",
      'set rule __autogen_nobody × own_notes: "workspaces:post" is not on notes',
    ]);
  });
});
