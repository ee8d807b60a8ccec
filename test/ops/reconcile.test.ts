/**
 * `npm run permit:reconcile` against the running API's local PDP, over the real SDK: facts
 * wiped from or added to the PDP are found by `--dry-run` (which changes nothing) and repaired
 * by a real run; roles granted by hand and user attributes stay.
 */
import type { Permit } from "permitio";
import { main } from "../../src/cli/permit-reconcile";
import { createLogger } from "../../src/common/logger";
import { createPermitClient } from "../../src/permit/client";
import { CreateNoteDocument, CreateWorkspaceDocument, MeDocument, ShareWorkspaceDocument } from "../generated/graphql";
import { dataOf, startTestApi, type TestApi } from "../support/api";
import { pointCommandLineAt, runCli } from "../support/cli";
import { databaseFacts, outboxSettled, pdpFacts } from "../support/pdp-state";

jest.setTimeout(60_000);

let api: TestApi;
let permit: Permit;
let restoreEnv = () => {};

beforeAll(async () => {
  api = await startTestApi();
  permit = createPermitClient({ ...api.permit, timeoutMs: 2000 }, createLogger("silent"));
  restoreEnv = pointCommandLineAt(api);
});
afterAll(async () => {
  restoreEnv();
  await api?.stop();
});

const reconcileCli = (...argv: string[]) => runCli(main, ...argv);

const sql = <T>(text: string, params: unknown[] = []) => api.dataSource.query(text, params) as Promise<T[]>;
const tenantRoles = async (user: string) =>
  (await permit.api.roleAssignments.list({ user, tenant: "default" })).filter((a) => !a.resource_instance).map((a) => a.role).sort();
const everything = async () => ({
  facts: await pdpFacts(permit),
  users: (await permit.api.users.list({ perPage: 100 })).data.map((u) => `${u.key} ${JSON.stringify(u.attributes ?? {})}`).sort(),
  roles: (await permit.api.roleAssignments.list({ tenant: "default", perPage: 100 })).map((a) => `${a.user} ${a.role} ${a.resource_instance ?? ""}`).sort(),
});

it("finds wiped and stale facts with --dry-run without changing anything, then repairs them; hand-granted admin and plan stay", async () => {
  const alice = await api.token("alice.rec@example.com");
  const bob = await api.token("bob.rec@example.com");
  const carol = await api.token("carol.rec@example.com");
  const dave = await api.token("dave.rec@example.com");
  const [aliceId, bobId, carolId, daveId] = await Promise.all([alice, bob, carol, dave].map(async (t) => dataOf(await api.gql(MeDocument, {}, t)).me.id));
  await permit.api.users.update(bobId!, { attributes: { plan: "premium" } });
  await permit.api.roleAssignments.assign({ user: carolId!, role: "admin", tenant: "default" });
  const w = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name: "R" } }, bob)).createWorkspace.id;
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId: w, email: "alice.rec@example.com", role: "EDITOR" }, bob));
  const note = async (title: string, token: string, workspaceId?: string) => dataOf(await api.gql(CreateNoteDocument, { input: { title, workspaceId } }, token)).createNote.id;
  const bobPersonal = await note("bob personal", bob);
  const aliceInW = await note("alice in w", alice, w);
  const bobInW = await note("bob in w", bob, w);
  // dave is deleted in Hanko, then someone recreates him in Permit by hand.
  const json = { method: "POST", headers: { "content-type": "application/json" } };
  const minted = await api.http("/dev/webhook-token", { ...json, body: JSON.stringify({ event: "user.delete", email: "dave.rec@example.com" }) });
  const hook = (await minted.json()) as { token: string };
  expect((await api.http("/webhooks/hanko", { ...json, body: JSON.stringify(hook) })).status).toBe(200);
  await outboxSettled(sql, 15_000);
  const clean = await everything();
  expect(clean.facts).toEqual(await databaseFacts(sql));
  const first = await reconcileCli();
  expect(first.code).toBe(0);
  expect(first.out.at(-1)).toMatch(/^Permit matches the database: nothing to do/);

  // Damage: wipe some facts, add stale ones.
  await permit.api.resourceInstances.delete(`notes:${aliceInW}`); // instance and its tuple
  await permit.api.relationshipTuples.delete({ subject: `workspaces:${w}`, relation: "parent", object: `notes:${bobInW}` });
  await permit.api.roleAssignments.unassign({ user: aliceId!, role: "editor", resource_instance: `workspaces:${w}`, tenant: "default" });
  await permit.api.users.delete(aliceId!); // the user, with the role user
  await permit.api.resourceInstances.update(`workspaces:${w}`, { attributes: { owner: carolId } });
  await permit.api.resourceInstances.create({ key: "ghost", resource: "workspaces", tenant: "default", attributes: { owner: bobId } });
  await permit.api.resourceInstances.create({ key: "0c6f2a0e-1d7b-4b8e-9d8e-3f1b2c3d4e5f", resource: "notes", tenant: "default", attributes: { owner: bobId } });
  await permit.api.roleAssignments.assign({ user: carolId!, role: "viewer", resource_instance: `workspaces:${w}`, tenant: "default" });
  await permit.api.relationshipTuples.create({ subject: `workspaces:${w}`, relation: "parent", object: `notes:${bobPersonal}`, tenant: "default" });
  await permit.api.users.create({ key: daveId!, email: "dave.rec@example.com" });
  await permit.api.roleAssignments.assign({ user: daveId!, role: "user", tenant: "default" });
  const damaged = await everything();
  expect(damaged.facts).not.toEqual(await databaseFacts(sql));

  const dry = await reconcileCli("--dry-run");
  expect(dry.code).toBe(0);
  expect(dry.out).toEqual(
    expect.arrayContaining([
      `+ user ${aliceId} <alice.rec@example.com>`,
      `+ role user ${aliceId}`,
      `- user ${daveId} (deleted in Hanko)`,
      `+ instance notes:${aliceInW} {"owner":"${aliceId}","workspace":"${w}"}`,
      `~ instance workspaces:${w} {"owner":"${carolId}"} → {"owner":"${bobId}"}`,
      `- instance workspaces:ghost`,
      `- instance notes:0c6f2a0e-1d7b-4b8e-9d8e-3f1b2c3d4e5f`,
      `+ role editor ${aliceId} on workspaces:${w}`,
      `- role viewer ${carolId} on workspaces:${w}`,
      `+ tuple workspaces:${w} parent notes:${aliceInW}`,
      `+ tuple workspaces:${w} parent notes:${bobInW}`,
      `- tuple workspaces:${w} parent notes:${bobPersonal}`,
    ]),
  );
  expect(dry.out.filter((l) => /^[+~-] /.test(l))).toHaveLength(12);
  expect(dry.out.at(-1)).toMatch(/^12 differences; nothing was changed \(dry run/);
  expect(dry.out.join("\n")).toMatch(/notes\s+3\s+1\s+0\s+1/);
  // The dry run changed nothing.
  expect(await everything()).toEqual(damaged);

  const run = await reconcileCli();
  expect(run.code).toBe(0);
  expect(run.out.at(-1)).toMatch(/^12 facts repaired in/);
  expect(run.err.join("\n")).toMatch(/creating missing instances: 1/);
  expect(await pdpFacts(permit)).toEqual(await databaseFacts(sql));
  expect(await tenantRoles(aliceId!)).toEqual(["user"]);
  await expect(permit.api.users.get(daveId!)).rejects.toMatchObject({ response: { status: 404 } });
  // Granted by hand: untouched.
  expect(await tenantRoles(carolId!)).toEqual(["admin", "user"]);
  expect((await permit.api.users.get(bobId!)).attributes).toMatchObject({ plan: "premium" });
  // Access follows: alice edits in the workspace again; carol is no viewer there any more (an admin still reads it).
  const check = (user: string, action: string, key: string, type = "notes") => permit.check(user, action, { type, key, tenant: "default" });
  expect(await check(aliceId!, "put", bobInW!)).toBe(true);
  expect(await check(daveId!, "get", bobInW!)).toBe(false);

  const again = await reconcileCli();
  expect(again.out.at(-1)).toMatch(/^Permit matches the database: nothing to do/);
});

it("refuses unknown arguments with the usage (exit 2)", async () => {
  const bad = await reconcileCli("--dryrun");
  expect(bad.code).toBe(2);
  expect(bad.err.join("\n")).toMatch(/Unknown argument "--dryrun"[\s\S]*Usage: npm run permit:reconcile/);
});
