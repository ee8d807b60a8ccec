/**
 * DecisionEngine: a policy and facts decided in-process, and `dependenciesOf`, which a policy
 * comparison uses to skip the checks two policies cannot decide differently. Equal strings
 * must mean equal decisions (here: each kind of edit that changes a decision changes the string
 * of the (type, action) it touches), and an edit elsewhere must leave the string alone.
 */
import { DecisionEngine, type EngineFacts, type EnginePolicy } from "../src";

const base = (): EnginePolicy => ({
  resources: [
    {
      key: "workspaces",
      actions: ["get", "put"],
      relations: [],
      roles: [
        { key: "editor", permissions: ["get", "put"], derivations: [] },
        { key: "viewer", permissions: ["get"], derivations: [] },
      ],
    },
    {
      key: "notes",
      actions: ["get", "delete"],
      relations: [{ key: "parent", subject_resource: "workspaces" }],
      roles: [
        { key: "editor", permissions: ["get", "delete"], derivations: [{ role: "editor", on_resource: "workspaces", linked_by_relation: "parent" }] },
        { key: "viewer", permissions: ["get"], derivations: [{ role: "viewer", on_resource: "workspaces", linked_by_relation: "parent" }] },
      ],
    },
  ],
  roles: [
    { key: "admin", permissions: ["notes:get", "notes:delete", "workspaces:get"] },
    { key: "user", permissions: [] },
  ],
  conditionSets: [{ key: "own_notes", type: "resourceset", resource: "notes", conditions: { allOf: [{ "resource.owner": { equals: { ref: "user.key" } } }] } }],
  setRules: [{ user_set: "__autogen_user", permission: "notes:get", resource_set: "own_notes" }],
});

const facts: EngineFacts = {
  tenant: "default",
  users: [{ key: "ann" }, { key: "ben" }, { key: "cat" }],
  tenantRoles: [
    { user: "ann", role: "user" },
    { user: "ben", role: "user" },
    { user: "cat", role: "admin" },
  ],
  instances: [
    { type: "workspaces", key: "w", attributes: { owner: "ann" } },
    { type: "notes", key: "n", attributes: { owner: "ann", workspace: "w" } },
  ],
  instanceRoles: [{ user: "ben", role: "viewer", instance: "workspaces:w" }],
  tuples: [{ subject: "workspaces:w", relation: "parent", object: "notes:n" }],
};

const note = { type: "notes", key: "n", attributes: { owner: "ann", workspace: "w" } };
const load = (p: EnginePolicy) => DecisionEngine.load(p, facts);
const edited = (edit: (p: EnginePolicy) => void) => {
  const p = base();
  edit(p);
  return p;
};
const notesRole = (p: EnginePolicy, key: string) => p.resources.find((r) => r.key === "notes")!.roles.find((r) => r.key === key)!;

describe("DecisionEngine", () => {
  it("decides over the facts it was given: a derived role, a condition set, a tenant role; and denies the others", () => {
    const engine = load(base());
    expect(engine.check({ user: "ben", action: "get", resource: note }).allow).toBe(true); // viewer on w → viewer on n
    expect(engine.check({ user: "ben", action: "delete", resource: note }).allow).toBe(false);
    expect(engine.check({ user: "ann", action: "get", resource: note }).allow).toBe(true); // own_notes
    expect(engine.check({ user: "ann", action: "delete", resource: note }).allow).toBe(false);
    expect(engine.check({ user: "cat", action: "delete", resource: note }).allow).toBe(true); // admin
  });
});

describe("dependenciesOf", () => {
  const cases: [string, (p: EnginePolicy) => void, string, string][] = [
    ["a derivation alone", (p) => (notesRole(p, "viewer").derivations = []), "notes", "get"],
    ["a resource role's permission", (p) => notesRole(p, "viewer").permissions.push("delete"), "notes", "delete"],
    ["a tenant role's permission", (p) => p.roles[1]!.permissions.push("notes:delete"), "notes", "delete"],
    ["a condition set's conditions alone", (p) => (p.conditionSets[0]!.conditions = { allOf: [{ "resource.owner": { "not-equals": { ref: "user.key" } } }] }), "notes", "get"],
    ["a set rule", (p) => p.setRules.push({ user_set: "__autogen_user", permission: "notes:delete", resource_set: "own_notes" }), "notes", "delete"],
    ["a tenant role removed (its assignments drop)", (p) => (p.roles = p.roles.filter((r) => r.key !== "admin")), "notes", "delete"],
  ];

  it.each(cases)("changes with %s, and so does a decision on that type and action", (_what, edit, type, action) => {
    const before = load(base());
    const after = load(edited(edit));
    expect(after.dependenciesOf(type, action)).not.toBe(before.dependenciesOf(type, action));
    const decisions = (e: DecisionEngine) =>
      facts.users.map((u) => e.check({ user: u.key, action, resource: note }).allow);
    // Each edit was chosen to flip at least one decision: the string must see it.
    expect(decisions(after)).not.toEqual(decisions(before));
  });

  it("stays the same for a type and action an edit does not touch, and so do their decisions", () => {
    const before = load(base());
    const after = load(edited((p) => notesRole(p, "viewer").permissions.push("delete")));
    for (const [type, action] of [["notes", "get"], ["workspaces", "get"], ["workspaces", "put"]] as const) {
      expect(after.dependenciesOf(type, action)).toBe(before.dependenciesOf(type, action));
    }
    const getNote = (e: DecisionEngine) => facts.users.map((u) => e.check({ user: u.key, action: "get", resource: note }).allow);
    expect(getNote(after)).toEqual(getNote(before));
  });

  it("is equal for the same policy loaded twice", () => {
    expect(load(base()).dependenciesOf("notes", "delete")).toBe(load(base()).dependenciesOf("notes", "delete"));
  });
});
