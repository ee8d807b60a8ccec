/**
 * applyPolicy against the local Permit-compatible PDP, through the real SDK over HTTP.
 */
import pino from "pino";
import type { Permit } from "permitio";
import { startLocalPdp } from "@notes/local-pdp";
import { Authorizer } from "../../authz/authorizer";
import { applyPolicy, summarize } from ".";
import { main as applyCli } from "../../cli/permit-apply";
import { createPermitClient } from "../client";
import { policy } from "../../authz/policy";
import { createTestDatabase } from "../../../test/support/database";

const API_KEY = "apply-policy-test-key";
const silent = pino({ level: "silent" });

let pdp: { url: string; close(): Promise<void> };
let permit: Permit;

beforeAll(async () => {
  pdp = await startLocalPdp({ apiKey: API_KEY, port: 0 });
  permit = createPermitClient({ apiKey: API_KEY, pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 2000 }, silent);
});
afterAll(() => pdp?.close());

const ALL_OBJECTS = [
  "resource:workspaces",
  "resource:notes",
  "relation:notes.parent",
  "resource_role:workspaces#owner",
  "resource_role:workspaces#editor",
  "resource_role:workspaces#viewer",
  "resource_role:notes#manager",
  "resource_role:notes#editor",
  "resource_role:notes#viewer",
  "role:admin",
  "role:user",
  "condition_set:own_notes",
  "condition_set:premium",
  "set_rule:__autogen_user→notes:put→own_notes",
  "set_rule:__autogen_user→notes:delete→own_notes",
  "set_rule:premium→workspaces:post→__autogen_workspaces",
];

describe("applyPolicy", () => {
  it("creates every object of the policy on an empty environment, then a second run changes nothing", async () => {
    const lines: string[] = [];
    const first = await applyPolicy(permit, policy, { tenant: "default", log: (l) => lines.push(l) });
    expect([...first.created].sort()).toEqual([...ALL_OBJECTS].sort());
    expect(first.updated).toEqual([]);
    expect(first.removed).toEqual([]);
    expect(lines).toContain("created resource_role:notes#manager");
    expect(summarize(first)).toBe(`${ALL_OBJECTS.length} created, 0 updated, 0 removed, ${first.unchanged} unchanged.`);

    const second = await applyPolicy(permit, policy, { tenant: "default" });
    expect(second).toEqual({ created: [], updated: [], removed: [], unchanged: ALL_OBJECTS.length + 1 });
    expect(summarize(second)).toBe(`Nothing changed: the policy is already applied (${ALL_OBJECTS.length + 1} objects checked).`);
  });

  it("puts back what drifted from the policy, and only that", async () => {
    await permit.api.roles.update("user", { permissions: ["notes:get", "notes:post", "notes:delete"] });
    await permit.api.resourceRoles.update("notes", "editor", { granted_to: { users_with_role: [] } });
    const alice = new Authorizer({ permit, user: { userId: "drift-user" }, tenant: "default", logger: silent });
    await permit.api.users.create({ key: "drift-user" });
    await permit.api.roleAssignments.assign({ user: "drift-user", role: "user", tenant: "default" });
    await expect(alice.can("delete", { type: "notes", key: "x", attributes: { owner: "someone" } })).resolves.toBe(true);

    const result = await applyPolicy(permit, policy, { tenant: "default" });
    expect([...result.updated].sort()).toEqual(["resource_role:notes#editor", "role:user"]);
    expect(result.created).toEqual([]);

    const fresh = new Authorizer({ permit, user: { userId: "drift-user" }, tenant: "default", logger: silent });
    await expect(fresh.can("delete", { type: "notes", key: "x", attributes: { owner: "someone" } })).resolves.toBe(false);
    const editor = await permit.api.resourceRoles.get("notes", "editor");
    expect(editor.granted_to?.users_with_role?.map((d) => `${d.on_resource}#${d.role}@${d.linked_by_relation}`)).toEqual([
      "workspaces#editor@parent",
    ]);
  });

  it("leaves objects it does not define alone, unless pruning", async () => {
    await permit.api.roles.create({ key: "auditor", name: "Auditor", permissions: ["notes:get"] });
    await permit.api.resourceRoles.create("notes", { key: "commenter", name: "Commenter", permissions: ["get"] });
    await permit.api.conditionSets.create({
      key: "night_shift",
      name: "Night shift",
      type: "userset",
      conditions: { allOf: [{ "user.shift": { equals: "night" } }] },
    });
    await permit.api.conditionSetRules.create({ user_set: "night_shift", permission: "notes:put", resource_set: "own_notes" });

    const kept = await applyPolicy(permit, policy, { tenant: "default" });
    expect(kept.removed).toEqual([]);
    expect(kept.created).toEqual([]);
    expect(kept.updated).toEqual([]);
    await expect(permit.api.roles.get("auditor")).resolves.toMatchObject({ key: "auditor" });

    const lines: string[] = [];
    const pruned = await applyPolicy(permit, policy, { tenant: "default", prune: true, log: (l) => lines.push(l) });
    expect([...pruned.removed].sort()).toEqual([
      "condition_set:night_shift",
      "resource_role:notes#commenter",
      "role:auditor",
      "set_rule:night_shift→notes:put→own_notes",
    ]);
    expect(lines).toContain("removed role:auditor");
    expect(pruned.created).toEqual([]);
    await expect(permit.api.roles.get("auditor")).rejects.toMatchObject({ response: { status: 404 } });
    await expect(permit.api.roles.get("admin")).resolves.toMatchObject({ key: "admin" });

    const again = await applyPolicy(permit, policy, { tenant: "default", prune: true });
    expect(again.removed).toEqual([]);
    expect(again.created).toEqual([]);
    expect(again.updated).toEqual([]);
  });
});

describe("npm run permit:apply", () => {
  const saved = { ...process.env };
  let out: string[];
  let err: string[];
  beforeEach(() => {
    out = [];
    err = [];
    jest.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
    jest.spyOn(console, "error").mockImplementation((...a: unknown[]) => void err.push(a.join(" ")));
    for (const name of ["PERMIT_API_KEY", "PERMIT_PDP_URL", "PERMIT_API_URL", "PERMIT_TENANT", "NODE_ENV", "DATABASE_URL"]) delete process.env[name];
    // No embedded database is running there.
    process.env.DATA_DIR = "/nonexistent/apply-policy-test";
  });
  afterEach(() => {
    jest.restoreAllMocks();
    process.env = { ...saved };
  });

  it("explains the embedded default and exits 2 when PERMIT_* are unset", async () => {
    await expect(applyCli([])).resolves.toBe(2);
    expect(err.join("\n")).toMatch(/applies this policy itself every time `npm start` starts it/);
  });

  it("rejects unknown arguments with exit 2", async () => {
    await expect(applyCli(["--force"])).resolves.toBe(2);
    expect(err.join("\n")).toMatch(/Unknown argument "--force"/);
  });

  it("refuses to apply without a database to record the change in (exit 1)", async () => {
    Object.assign(process.env, { PERMIT_API_KEY: API_KEY, PERMIT_PDP_URL: pdp.url, PERMIT_API_URL: `${pdp.url}/` });
    await expect(applyCli([])).resolves.toBe(1);
    expect(err.join("\n")).toMatch(/The policy history is kept in the database: set DATABASE_URL/);
    expect(out).toEqual([]);
  });

  it("applies to the configured environment and reports that nothing changed", async () => {
    Object.assign(process.env, { PERMIT_API_KEY: API_KEY, PERMIT_PDP_URL: pdp.url, PERMIT_API_URL: `${pdp.url}/`, DATABASE_URL: await createTestDatabase() });
    await expect(applyCli([])).resolves.toBe(0);
    expect(out.join("\n")).toMatch(/Nothing changed: the policy is already applied/);
    expect(out.join("\n")).not.toContain(API_KEY);
  });
});
