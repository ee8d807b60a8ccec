/**
 * `npm run permit -- …` against the local Permit-compatible PDP, through the real SDK.
 */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import type { Permit } from "permitio";
import { runCli } from "../../test/support/cli";
import { startPolicyPdp } from "../../test/support/policy-pdp";
import { main, parseArgs, parseAttributeValue, runCommand } from "./permit";
import { CommandError, UsageError } from "./run";
import { Authorizer } from "../authz/authorizer";
import { PermitFacts } from "../permit/fact-writer";

const API_KEY = "admin-cli-test-key";
const TENANT = "default";
const silent = pino({ level: "silent" });

let pdp: { url: string; close(): Promise<void> };
let permit: Permit;
let facts: PermitFacts;

beforeAll(async () => {
  ({ pdp, permit } = await startPolicyPdp(API_KEY, TENANT));
  facts = new PermitFacts({ permit, tenant: TENANT });
  await facts.syncUser({ key: "hanko-ann", email: "Ann@Example.com" });
  await facts.syncUser({ key: "hanko-ben", email: "ben@example.com" });
});
afterAll(() => pdp?.close());

async function run(...argv: string[]): Promise<string[]> {
  const out: string[] = [];
  await runCommand(permit, TENANT, argv, { out: (l) => out.push(l), err: (l) => out.push(l) });
  return out;
}

const can = (user: string, action: string, resource: { type: string; key?: string; attributes?: Record<string, unknown> }) =>
  new Authorizer({ permit, user: { userId: user }, tenant: TENANT, logger: silent }).can(action, resource);

describe("permit admin CLI", () => {
  it("assigns and unassigns admin by email (case-insensitive), idempotently", async () => {
    const someone = { type: "notes", key: "x", attributes: { owner: "someone" } };
    await expect(can("hanko-ann", "delete", someone)).resolves.toBe(false);

    expect(await run("assign", "ann@example.com", "admin")).toEqual([
      'assigned role "admin" to hanko-ann (Ann@Example.com) in tenant "default"',
    ]);
    expect(await run("assign", "ann@example.com", "admin")).toEqual(['hanko-ann (Ann@Example.com) already has role "admin" in tenant "default"']);
    await expect(facts.tenantRoles("hanko-ann")).resolves.toEqual(["admin", "user"]);
    await expect(can("hanko-ann", "delete", someone)).resolves.toBe(true);
    await expect(can("hanko-ben", "delete", someone)).resolves.toBe(false);

    expect(await run("unassign", "hanko-ann", "admin")).toEqual(['unassigned role "admin" from hanko-ann (Ann@Example.com) in tenant "default"']);
    expect(await run("unassign", "hanko-ann", "admin")).toEqual(['hanko-ann (Ann@Example.com) did not have role "admin" in tenant "default"']);
    await expect(can("hanko-ann", "delete", someone)).resolves.toBe(false);
  });

  it("sets and unsets the plan attribute, keeping the others", async () => {
    await permit.api.users.update("hanko-ben", { attributes: { team: "blue" } });
    await expect(can("hanko-ben", "post", { type: "workspaces" })).resolves.toBe(false);
    expect(await run("set-attr", "ben@example.com", "plan", "premium")).toEqual(['set plan="premium" on hanko-ben (ben@example.com)']);
    await expect(can("hanko-ben", "post", { type: "workspaces" })).resolves.toBe(true);
    expect((await permit.api.users.get("hanko-ben")).attributes).toEqual({ team: "blue", plan: "premium" });

    expect(await run("unset-attr", "hanko-ben", "plan")).toEqual(['removed attribute "plan" from hanko-ben (ben@example.com)']);
    await expect(can("hanko-ben", "post", { type: "workspaces" })).resolves.toBe(false);
    expect((await permit.api.users.get("hanko-ben")).attributes).toEqual({ team: "blue" });
    expect(await run("unset-attr", "hanko-ben", "plan")).toEqual(['hanko-ben (ben@example.com) has no attribute "plan"']);
  });

  it("lists tenant roles, instance roles and attributes", async () => {
    await facts.createWorkspace("w-ben", "hanko-ben");
    const out = await run("roles", "ben@example.com");
    expect(out).toEqual([
      "user hanko-ben (ben@example.com)",
      "  tenant roles: user (tenant default)",
      "  owner on workspaces:w-ben",
      '  attributes: {"team":"blue"}',
    ]);
  });

  it("grants a role to a Hanko id before that user's first request, and the first request keeps it", async () => {
    expect(await run("assign", "hanko-new", "admin")).toEqual([
      "created Permit user hanko-new (not seen by the API yet)",
      'assigned role "admin" to hanko-new in tenant "default"',
    ]);
    await facts.syncUser({ key: "hanko-new", email: "new@example.com" });
    await expect(facts.tenantRoles("hanko-new")).resolves.toEqual(["admin", "user"]);
  });

  it("fails on an unknown email or role, without creating anything", async () => {
    await expect(run("assign", "nobody@example.com", "admin")).rejects.toThrow(CommandError);
    await expect(run("set-attr", "hanko-nobody", "plan", "premium")).rejects.toThrow(/No Permit user has the id hanko-nobody/);
    await expect(run("assign", "hanko-ghost", "superuser")).rejects.toThrow(/no tenant role "superuser"/);
    await expect(permit.api.users.get("hanko-ghost")).rejects.toMatchObject({ response: { status: 404 } });
  });
});

describe("argument parsing", () => {
  it("rejects unknown commands and wrong arities", () => {
    expect(() => parseArgs([])).toThrow(UsageError);
    expect(() => parseArgs(["grant", "a", "b"])).toThrow(/Unknown command "grant"/);
    expect(() => parseArgs(["assign", "a"])).toThrow(/takes 2 arguments, got 1/);
    expect(parseArgs(["set-attr", "a", "plan", "premium"])).toEqual({ command: "set-attr", args: ["a", "plan", "premium"], flags: new Set() });
    expect(parseArgs(["explain", "a", "put", "notes", "--json"])).toEqual({ command: "explain", args: ["a", "put", "notes"], flags: new Set(["--json"]) });
    expect(() => parseArgs(["roles", "a", "--json"])).toThrow(/Unknown option "--json" for "roles"/);
    expect(() => parseArgs(["explain", "a", "put"])).toThrow(/takes 3 arguments, got 2/);
    expect(parseArgs(["outbox", "list", "--json"])).toEqual({ command: "outbox", args: ["list"], flags: new Set(["--json"]) });
    expect(parseArgs(["outbox", "skip", "12"])).toEqual({ command: "outbox", args: ["skip", "12"], flags: new Set() });
    expect(() => parseArgs(["outbox"])).toThrow(/Unknown command "outbox": use outbox list, outbox retry <id> or outbox skip <id>/);
    expect(() => parseArgs(["outbox", "drop", "1"])).toThrow(/Unknown command "outbox drop"/);
    expect(() => parseArgs(["outbox", "retry"])).toThrow(/"outbox retry" takes 1 argument, got 0/);
    expect(() => parseArgs(["outbox", "list", "x"])).toThrow(/"outbox list" takes 0 arguments, got 1/);
  });

  it("reads attribute values as JSON when they parse, else as text", () => {
    expect(parseAttributeValue("premium")).toBe("premium");
    expect(parseAttributeValue("42")).toBe(42);
    expect(parseAttributeValue("true")).toBe(true);
    expect(parseAttributeValue('"42"')).toBe("42");
    expect(parseAttributeValue('["a"]')).toEqual(["a"]);
  });
});

describe("main", () => {
  const saved = { ...process.env };
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "permit-admin-"));
    for (const name of ["PERMIT_API_KEY", "PERMIT_PDP_URL", "PERMIT_API_URL", "PERMIT_TENANT", "NODE_ENV"]) delete process.env[name];
    process.env.DATA_DIR = dataDir;
  });
  afterEach(async () => {
    process.env = { ...saved };
    await rm(dataDir, { recursive: true, force: true });
  });

  it("exits 2 with the usage on a usage error", async () => {
    const c = await runCli(main, "assign", "x");
    expect(c.code).toBe(2);
    expect(c.err.join("\n")).toMatch(/Usage: npm run permit -- <command>/);
  });

  it("reaches the embedded PDP through ${DATA_DIR}/permit-local.json when PERMIT_* are unset", async () => {
    const c = await runCli(main, "roles", "hanko-ann");
    expect(c.code).toBe(1);
    expect(c.err.join("\n")).toMatch(/permit-local\.json does not exist: start the API with `npm start`/);

    await writeFile(path.join(dataDir, "permit-local.json"), JSON.stringify({ apiKey: API_KEY, url: `${pdp.url}/` }));
    const ok = await runCli(main, "roles", "ann@example.com");
    expect(ok.code).toBe(0);
    expect(ok.out[0]).toBe("user hanko-ann (Ann@Example.com)");
  });

  it("uses PERMIT_* when set, and says so when the key is refused", async () => {
    Object.assign(process.env, { PERMIT_API_KEY: "wrong-key", PERMIT_PDP_URL: pdp.url, PERMIT_API_URL: pdp.url });
    const c = await runCli(main, "roles", "hanko-ann");
    expect(c.code).toBe(1);
    expect(c.err.join("\n")).toMatch(/could not be reached or refused the API key/);
    expect(c.err.join("\n")).not.toContain("wrong-key");
  });
});
