/** Attribute-based decisions: every operator with a true, a false and a missing-attribute case. */
import { PermitApiError, type Permit } from "permitio";
import { applyTutorialPolicy, applyWorkspacePolicy, startHarness, syncUsers, type Harness } from "./helpers";

let h: Harness;
let permit: Permit;

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue };

interface OperatorCase {
  op: string;
  /** The operator node applied to `user.v`. */
  test: Record<string, JsonValue>;
  yes: JsonValue;
  no: JsonValue[];
}

const CASES: OperatorCase[] = [
  { op: "equals", test: { equals: "premium" }, yes: "premium", no: ["free", 1] },
  { op: "not-equals", test: { "not-equals": "free" }, yes: "premium", no: ["free"] },
  { op: "greater-than", test: { "greater-than": 18 }, yes: 30, no: [18, "30"] },
  { op: "less-than", test: { "less-than": 18 }, yes: 10, no: [18] },
  { op: "greater-than-equals", test: { "greater-than-equals": 18 }, yes: 18, no: [17] },
  { op: "less-than-equals", test: { "less-than-equals": 18 }, yes: 18, no: [19] },
  { op: "contains", test: { contains: "@acme" }, yes: "x@acme.com", no: ["x@other.com", ["@acme"]] },
  { op: "in", test: { in: ["US", "CA"] }, yes: "US", no: ["FR"] },
  { op: "between", test: { between: [9, 12] }, yes: 10, no: [12, 9, 13] },
  { op: "array_contains", test: { array_contains: "admin" }, yes: ["x", "admin"], no: [["x"], "admin"] },
  { op: "array_subset", test: { array_subset: ["a", "b", "c"] }, yes: ["a", "b"], no: [["a", "d"]] },
  { op: "array_superset", test: { array_superset: ["a", "b"] }, yes: ["a", "b", "c"], no: [["a"]] },
  { op: "array_intersect", test: { array_intersect: ["a", "b"] }, yes: ["z", "b"], no: [["y", "z"]] },
  { op: "object_match", test: { object_match: { match: { city: { equals: "Paris" } } } }, yes: { city: "Paris" }, no: [{ city: "Rome" }, {}] },
  {
    op: "any_match",
    test: { any_match: { match: { role: { equals: "lead" } } } },
    yes: [{ role: "dev" }, { role: "lead" }],
    no: [[{ role: "dev" }], []],
  },
  {
    op: "all_match",
    test: { all_match: { match: { active: { equals: true } } } },
    yes: [{ active: true }, { active: true }],
    no: [[{ active: true }, { active: false }], []],
  },
  { op: "attribute-first anyOf", test: { anyOf: [{ between: [9, 12] }, { "greater-than": 40 }] }, yes: 41, no: [20] },
];

const item = { type: "item", tenant: "default" };
const as = (attrs: Record<string, JsonValue>) => ({ key: "u", attributes: attrs });

beforeAll(async () => {
  h = await startHarness();
  permit = h.permit;
  await applyTutorialPolicy(permit);
  await applyWorkspacePolicy(permit);
  const actions = Object.fromEntries(CASES.map((_, i) => [`a${i}`, {}]));
  await permit.api.resources.create({ key: "item", name: "Item", actions: { ...actions, ref: {}, ctx: {}, neg: {}, tenant: {}, fk: {}, child: {} } });
  await permit.api.resources.create({ key: "team", name: "Team", actions: { view: {} }, attributes: { tier: { type: "string" } } });
  for (const [i, c] of CASES.entries()) {
    await permit.api.conditionSets.create({ key: `us_${i}`, name: c.op, type: "userset", conditions: { allOf: [{ "user.v": c.test }] } });
    await permit.api.conditionSetRules.create({ user_set: `us_${i}`, permission: `item:a${i}`, resource_set: "__autogen_item" });
  }
  await syncUsers(permit, ["u"], "user");
});

afterAll(async () => {
  await h.pdp.close();
});

describe("operators", () => {
  test.each(CASES.map((c, i) => [c.op, i] as const))("%s: true, false and missing-attribute cases", async (_op, i) => {
    const c = CASES[i];
    expect(await permit.check(as({ v: c.yes }), `a${i}`, item)).toBe(true);
    for (const value of c.no) expect(await permit.check(as({ v: value }), `a${i}`, item)).toBe(false);
    expect(await permit.check(as({}), `a${i}`, item)).toBe(false);
  });

  test("ref compares with another attribute of the same check; a missing ref is false", async () => {
    await permit.api.conditionSets.create({
      key: "rs_ref",
      name: "level",
      type: "resourceset",
      resource_id: "item",
      conditions: { allOf: [{ "resource.min_level": { "less-than-equals": { ref: "user.level" } } }] },
    });
    await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "item:ref", resource_set: "rs_ref" });
    const withLevel = (min: number) => ({ ...item, attributes: { min_level: min } });
    expect(await permit.check(as({ level: 5 }), "ref", withLevel(5))).toBe(true);
    expect(await permit.check(as({ level: 4 }), "ref", withLevel(5))).toBe(false);
    expect(await permit.check(as({}), "ref", withLevel(5))).toBe(false);
  });

  test("context attributes come from the check's context", async () => {
    await permit.api.conditionSets.create({
      key: "us_ctx",
      name: "office",
      type: "userset",
      conditions: { "context.network": { equals: "office" } },
    });
    await permit.api.conditionSetRules.create({ user_set: "us_ctx", permission: "item:ctx", resource_set: "__autogen_item" });
    expect(await permit.check("u", "ctx", item, { network: "office" })).toBe(true);
    expect(await permit.check("u", "ctx", item, { network: "cafe" })).toBe(false);
    expect(await permit.check("u", "ctx", item)).toBe(false);
  });

  test("not negates; over a missing attribute it is true (Rego's `not` over undefined)", async () => {
    await permit.api.conditionSets.create({ key: "us_neg", name: "not banned", type: "userset", conditions: { not: { "user.banned": { equals: true } } } });
    await permit.api.conditionSetRules.create({ user_set: "us_neg", permission: "item:neg", resource_set: "__autogen_item" });
    expect(await permit.check(as({ banned: false }), "neg", item)).toBe(true);
    expect(await permit.check(as({ banned: true }), "neg", item)).toBe(false);
    expect(await permit.check(as({}), "neg", item)).toBe(true);
  });

  test("tenant attributes apply only in a tenant where the user has a role", async () => {
    await permit.api.tenants.create({ key: "gold", name: "Gold", attributes: { tier: "gold" } });
    await permit.api.tenants.update("default", { attributes: { tier: "gold" } });
    await permit.api.conditionSets.create({ key: "us_tier", name: "gold tenant", type: "userset", conditions: { "tenant.tier": { equals: "gold" } } });
    await permit.api.conditionSetRules.create({ user_set: "us_tier", permission: "item:tenant", resource_set: "__autogen_item" });
    expect(await permit.check("u", "tenant", item)).toBe(true);
    expect(await permit.check("u", "tenant", { ...item, tenant: "gold" })).toBe(false);
  });

  test("fk_resource_type matches against the stored attributes of the referenced instances", async () => {
    await permit.api.resourceInstances.create({ resource: "team", key: "t1", tenant: "default", attributes: { tier: "gold" } });
    await permit.api.resourceInstances.create({ resource: "team", key: "t2", tenant: "default", attributes: { tier: "silver" } });
    await permit.api.conditionSets.create({
      key: "us_fk",
      name: "in a gold team",
      type: "userset",
      conditions: { "user.teams": { any_match: { match: { tier: { equals: "gold" } }, fk_resource_type: "team" } } },
    });
    await permit.api.conditionSetRules.create({ user_set: "us_fk", permission: "item:fk", resource_set: "__autogen_item" });
    expect(await permit.check(as({ teams: ["t2", "t1"] }), "fk", item)).toBe(true);
    expect(await permit.check(as({ teams: ["t2", "unknown"] }), "fk", item)).toBe(false);
    expect(await permit.check(as({}), "fk", item)).toBe(false);
  });

  test("a child condition set also requires its parent's conditions", async () => {
    await permit.api.conditionSets.create({ key: "us_parent", name: "adults", type: "userset", conditions: { "user.age": { "greater-than-equals": 18 } } });
    await permit.api.conditionSets.create({
      key: "us_child",
      name: "adults in FR",
      type: "userset",
      parent_id: "us_parent",
      conditions: { "user.country": { equals: "FR" } },
    });
    await permit.api.conditionSetRules.create({ user_set: "us_child", permission: "item:child", resource_set: "__autogen_item" });
    expect(await permit.check(as({ age: 20, country: "FR" }), "child", item)).toBe(true);
    expect(await permit.check(as({ age: 17, country: "FR" }), "child", item)).toBe(false);
    expect(await permit.check(as({ age: 20, country: "US" }), "child", item)).toBe(false);
  });
});

describe("user attributes: the premium user set (contract/policy.md)", () => {
  beforeAll(async () => {
    await permit.api.conditionSets.create({ key: "premium", name: "Premium", type: "userset", conditions: { allOf: [{ "user.plan": { equals: "premium" } }] } });
    await permit.api.conditionSetRules.create({ user_set: "premium", permission: "workspaces:post", resource_set: "__autogen_workspaces" });
    await syncUsers(permit, ["payer", "freeloader"], "user");
    await permit.api.users.update("payer", { attributes: { plan: "premium" } });
    await permit.api.users.update("freeloader", { attributes: { plan: "free" } });
  });

  const workspace = { type: "workspaces", tenant: "default" };

  test("a stored plan attribute puts the user in the premium set", async () => {
    expect(await permit.check("payer", "post", workspace)).toBe(true);
    expect(await permit.check("freeloader", "post", workspace)).toBe(false);
    expect(await permit.check("payer", "delete", workspace)).toBe(false);
  });

  test("check-time user attributes override the stored ones", async () => {
    expect(await permit.check({ key: "freeloader", attributes: { plan: "premium" } }, "post", workspace)).toBe(true);
    expect(await permit.check({ key: "payer", attributes: { plan: "free" } }, "post", workspace)).toBe(false);
  });

  test("changing the stored attribute takes effect on the next check", async () => {
    await permit.api.users.update("payer", { attributes: { plan: "free" } });
    expect(await permit.check("payer", "post", workspace)).toBe(false);
    await permit.api.users.update("payer", { attributes: { plan: "premium" } });
    expect(await permit.check("payer", "post", workspace)).toBe(true);
  });

  test("a stored `roles` attribute overrides the generated roles (documented merge order)", async () => {
    await permit.api.users.sync({ key: "legacy", attributes: { roles: ["user"] } });
    await permit.api.users.sync({ key: "plain" });
    const own = (user: string) => ({ type: "notes", key: "n", tenant: "default", attributes: { owner: user } });
    expect(await permit.check("legacy", "put", own("legacy"))).toBe(true);
    expect(await permit.check("plain", "put", own("plain"))).toBe(false);
  });
});

describe("condition validation", () => {
  const rejects = async (conditions: unknown): Promise<number | undefined> => {
    try {
      await permit.api.conditionSets.create({ key: `bad_${Math.random().toString(36).slice(2, 8)}`, name: "bad", type: "userset", conditions: conditions as object });
      return 200;
    } catch (err) {
      return err instanceof PermitApiError ? err.response?.status : -1;
    }
  };

  test("unknown operators, unsupported prefixes and mistyped operands are 422 at write time", async () => {
    expect(await rejects({ "user.a": { "not-in": ["x"] } })).toBe(422);
    expect(await rejects({ "environment.hour": { equals: 1 } })).toBe(422);
    expect(await rejects({ "user.a": { "greater-than": "ten" } })).toBe(422);
    expect(await rejects({ "user.a": { between: [1] } })).toBe(422);
    expect(await rejects({ allOf: {} })).toBe(422);
    expect(await rejects({ "user.a": { equals: 1 } })).toBe(200);
  });
});
