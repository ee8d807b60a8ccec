/**
 * `npm run permit -- outbox …` against a running API whose way to Permit's API goes through a
 * relay that refuses one workspace's facts (HTTP 422), as Permit refuses a write it cannot take:
 * the refused fact becomes stuck and holds back the later facts of its workspace; `list` shows
 * it with Permit's answer, `retry` sends it again once Permit takes it, `skip` repairs its
 * objects from the database and removes it.
 */
import type { Permit } from "permitio";
import { main } from "../../src/cli/permit";
import { CreateNoteDocument, CreateWorkspaceDocument, MeDocument, ShareWorkspaceDocument } from "../generated/graphql";
import { dataOf, startTestApi, type TestApi } from "../support/api";
import { pointCommandLineAt, runCli } from "../support/cli";
import { startHttpRelay, type HttpRelay } from "../support/http-relay";
import { databaseFacts, outboxSettled, pdpFacts } from "../support/pdp-state";
import { startPolicyPdp } from "../support/policy-pdp";

jest.setTimeout(90_000);

const API_KEY = "test_outbox_cli_key";
let pdp: { url: string; close(): Promise<void> };
let permit: Permit;
let relay: HttpRelay;
let api: TestApi;
let restoreEnv = () => {};
const refusing = new Set<string>();

let alice: string;
let bobId: string;
let carolId: string;

beforeAll(async () => {
  ({ pdp, permit } = await startPolicyPdp(API_KEY));
  relay = await startHttpRelay(new URL(pdp.url));
  relay.answer = (request) => ([...refusing].some((w) => request.url.includes(w) || request.body.includes(w)) ? 422 : undefined);
  api = await startTestApi({ PERMIT_API_KEY: API_KEY, PERMIT_PDP_URL: pdp.url, PERMIT_API_URL: relay.url, OUTBOX_WAIT_MS: "300" });
  restoreEnv = pointCommandLineAt(api);
  alice = await api.token("alice.outbox@example.com");
  const idOf = async (email: string) => dataOf(await api.gql(MeDocument, {}, await api.token(email))).me.id;
  // Creating workspaces is for premium users.
  await permit.api.users.update(await idOf("alice.outbox@example.com"), { attributes: { plan: "premium" } });
  bobId = await idOf("bob.outbox@example.com");
  carolId = await idOf("carol.outbox@example.com");
});
afterAll(async () => {
  restoreEnv();
  await api?.stop();
  await relay?.close();
  await pdp?.close();
});

const outbox = (...argv: string[]) => runCli(main, "outbox", ...argv);
const sql = <T>(text: string, params: unknown[] = []) => api.dataSource.query(text, params) as Promise<T[]>;
const canRead = (user: string, workspaceId: string) => permit.check(user, "get", { type: "workspaces", key: workspaceId, tenant: "default" });
const stuckMetric = async () => (await (await api.http("/metrics")).text()).split("\n").find((l) => l.startsWith('permit_outbox_stuck{kind="workspace.role_set"}'));
const share = async (workspaceId: string, email: string) =>
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId, email, role: "VIEWER" }, alice));

/** A workspace whose facts Permit refuses from now on, shared with bob: that share's fact, once stuck, and carol's share behind it. */
async function stuckShare(name: string): Promise<{ workspaceId: string; stuck: string; behind: string }> {
  const workspaceId = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name } }, alice)).createWorkspace.id;
  await outboxSettled(sql, 10_000);
  refusing.add(workspaceId);
  await share(workspaceId, "bob.outbox@example.com");
  await share(workspaceId, "carol.outbox@example.com");
  const [stuck, behind] = (await sql<{ id: string }>(`SELECT id::text FROM permit_outbox WHERE delivered_at IS NULL AND payload->>'workspaceId' = $1 ORDER BY permit_outbox.id`, [workspaceId])).map(
    (r) => r.id,
  );
  // Every drain tries the refused fact once more, and a mutation drains while it waits for its own facts: five refusals make it stuck.
  for (let i = 0; i < 200; i++) {
    const [row] = await sql<{ stuck: boolean }>(`SELECT stuck_at IS NOT NULL AS stuck FROM permit_outbox WHERE id = $1`, [stuck]);
    if (row!.stuck) return { workspaceId, stuck: stuck!, behind: behind! };
    dataOf(await api.gql(CreateNoteDocument, { input: { title: `nudge ${i}` } }, alice));
  }
  throw new Error("the refused fact never became stuck");
}

it("lists nothing while every fact is acknowledged", async () => {
  await outboxSettled(sql, 10_000);
  const run = await outbox("list");
  expect(run.code).toBe(0);
  expect(run.out).toEqual(["No fact is waiting: Permit has acknowledged every one."]);
});

it("lists a stuck fact with Permit's answer and what it holds back; retry sends it again once Permit takes it", async () => {
  const { workspaceId, stuck, behind } = await stuckShare("retried");
  const list = await outbox("list");
  expect(list.code).toBe(0);
  expect(list.out[0]).toMatch(
    new RegExp(`^#${stuck} workspace\\.role_set \\(workspaces:${workspaceId}, users:${bobId}\\) recorded \\S+: STUCK since \\S+ after 5 refusals; holds back 1 later fact$`),
  );
  expect(list.out[1]).toMatch(/^ {4}Permit answered: setWorkspaceRole\(.*\) failed: refused by the relay \(422\) \(HTTP 422\)$/);
  expect(list.out[2]).toMatch(new RegExp(`^#${behind} workspace\\.role_set \\(workspaces:${workspaceId}, users:${carolId}\\) recorded \\S+: pending$`));
  expect(list.out.at(-1)).toBe("2 pending, 1 stuck.");
  const json = JSON.parse((await outbox("list", "--json")).text) as { pending: number; stuck: number; facts: { id: string; stuckAt: string | null }[] };
  expect(json).toMatchObject({ pending: 2, stuck: 1 });
  expect(json.facts.map((f) => [f.id, f.stuckAt !== null])).toEqual([
    [stuck, true],
    [behind, false],
  ]);
  expect(await stuckMetric()).toBe('permit_outbox_stuck{kind="workspace.role_set"} 1');
  // The later fact of the workspace was never sent: neither share took effect.
  expect(relay.answered.some((r) => r.url.includes(carolId) || r.body.includes(carolId))).toBe(false);
  expect(relay.answered.some((r) => r.url.includes(bobId) || r.body.includes(bobId))).toBe(true);
  expect(await canRead(bobId, workspaceId)).toBe(false);
  expect(await canRead(carolId, workspaceId)).toBe(false);

  refusing.delete(workspaceId);
  // Fixed in Permit, but a stuck fact is not tried again by itself.
  dataOf(await api.gql(CreateNoteDocument, { input: { title: "after the fix" } }, alice));
  expect((await sql<{ n: number }>(`SELECT count(*)::int AS n FROM permit_outbox WHERE delivered_at IS NULL`))[0]!.n).toBe(2);
  const retry = await outbox("retry", stuck);
  expect(retry.code).toBe(0);
  expect(retry.text).toBe(`#${stuck} workspace.role_set (workspaces:${workspaceId}, users:${bobId}) will be tried again at the next delivery (within seconds while the API runs).`);
  await outboxSettled(sql, 15_000);
  expect(await canRead(bobId, workspaceId)).toBe(true);
  expect(await canRead(carolId, workspaceId)).toBe(true);
  expect(await stuckMetric()).toBe('permit_outbox_stuck{kind="workspace.role_set"} 0');

  const again = await outbox("retry", stuck);
  expect(again.code).toBe(1);
  expect(again.err).toEqual([`No fact #${stuck} is pending (it was delivered or skipped, or never recorded).`]);
});

it("skip repairs the stuck fact's objects from the database and removes it; the facts behind it follow", async () => {
  const { workspaceId, stuck, behind } = await stuckShare("skipped");
  const notStuck = await outbox("skip", behind);
  expect(notStuck.code).toBe(1);
  expect(notStuck.err).toEqual([`Fact #${behind} is not stuck: it will be delivered. Only a stuck fact can be skipped.`]);

  // Permit still refuses the workspace: the repair fails, and the fact stays.
  const refused = await outbox("skip", stuck);
  expect(refused.code).toBe(1);
  expect(refused.err.join("\n")).toMatch(/Permit rejected the request: refused by the relay \(422\) \(HTTP 422\)/);
  expect((await sql<{ stuck: boolean }>(`SELECT stuck_at IS NOT NULL AS stuck FROM permit_outbox WHERE id = $1`, [stuck]))[0]).toEqual({ stuck: true });
  expect(await canRead(bobId, workspaceId)).toBe(false);

  refusing.delete(workspaceId);
  const skipped = await outbox("skip", stuck);
  expect(skipped.code).toBe(0);
  expect(skipped.out).toEqual([
    `+ role viewer ${bobId} on workspaces:${workspaceId}`,
    `+ role viewer ${carolId} on workspaces:${workspaceId}`,
    `Skipped #${stuck} workspace.role_set (workspaces:${workspaceId}, users:${bobId}); 2 facts repaired for its objects.`,
  ]);
  expect(await sql(`SELECT id FROM permit_outbox WHERE id = $1`, [stuck])).toEqual([]);
  expect(await canRead(bobId, workspaceId)).toBe(true);
  expect(await canRead(carolId, workspaceId)).toBe(true);
  await outboxSettled(sql, 15_000);
  expect(await pdpFacts(permit)).toEqual(await databaseFacts(sql));
});

it("refuses a malformed command with the usage (exit 2)", async () => {
  for (const argv of [[], ["frob"], ["retry"], ["retry", "abc"], ["skip", "1", "2"], ["list", "x"]]) {
    const run = await outbox(...argv);
    expect(run.code).toBe(2);
    expect(run.err.join("\n")).toContain("Usage: npm run permit -- <command>");
  }
});
