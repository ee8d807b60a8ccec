/**
 * Two real API processes on one database, their way to Permit's REST API through a relay that
 * refuses every write about one workspace (HTTP 422): the refused fact becomes stuck and holds
 * back only that workspace's later facts, while facts of other workspaces, a removal included,
 * are delivered and decided on; `npm run permit -- outbox skip` then leaves the PDP equal to
 * the database.
 */
import { main } from "../../src/cli/permit";
import { pointCommandLine, runCli } from "../support/cli";
import { databaseFacts, pdpFacts } from "../support/pdp-state";
import { startReplicas, type GqlResult, type Replica, type ReplicaSet } from "../support/replicas";

jest.setTimeout(180_000);

let set: ReplicaSet;
beforeAll(async () => {
  set = await startReplicas({ relayApi: true, outboxWaitMs: 3000 });
}, 120_000);
afterAll(() => set?.stop());

const ME = `{ me { id } }`;
const CREATE_WORKSPACE = `mutation($name: String!) { createWorkspace(input: { name: $name }) { id } }`;
const SHARE = `mutation($w: ID!, $email: String!) { shareWorkspace(workspaceId: $w, email: $email, role: VIEWER) { role } }`;
const UNSHARE = `mutation($w: ID!, $userId: ID!) { unshareWorkspace(workspaceId: $w, userId: $userId) }`;
const CREATE_NOTE = `mutation($title: String!) { createNote(input: { title: $title }) { id } }`;

const ok = (res: GqlResult) => {
  expect(res.errors).toBeUndefined();
  return res.data!;
};
const canRead = (user: string, workspaceId: string) => set.permit.check(user, "get", { type: "workspaces", key: workspaceId, tenant: "default" });
const stuckGauge = async (r: Replica) =>
  (await (await fetch(`${r.url}/metrics`)).text()).split("\n").find((l) => l.startsWith('permit_outbox_stuck{kind="workspace.role_set"}'));

it("a fact Permit keeps refusing holds back its own workspace only; skip and reconcile leave the PDP equal to the database", async () => {
  const emails = ["owner", "bob", "dave", "erin"].map((n) => `${n}.stuck@example.com`);
  const owner = await set.token(emails[0]!);
  for (const [i, e] of emails.entries()) ok(await (i % 2 ? set.b : set.a).gql(ME, {}, await set.token(e)));
  const [ownerId, bobId, daveId, erinId] = emails.map((e) => set.userIdFor(e));
  await set.permit.api.users.update(ownerId!, { attributes: { plan: "premium" } });
  const refusedWs = (ok(await set.a.gql(CREATE_WORKSPACE, { name: "refused" }, owner)).createWorkspace as { id: string }).id;
  const otherWs = (ok(await set.b.gql(CREATE_WORKSPACE, { name: "other" }, owner)).createWorkspace as { id: string }).id;
  await set.settle();

  // From now on Permit refuses every write about `refusedWs`.
  const relay = set.apiRelay!;
  let refusing = true;
  relay.answer = (r) => (refusing && (r.url.includes(refusedWs) || r.body.includes(refusedWs)) ? 422 : undefined);
  ok(await set.a.gql(SHARE, { w: refusedWs, email: emails[2] }, owner));
  const [{ id: stuckId }] = await set.sql<{ id: string }>(
    `SELECT id::text FROM permit_outbox WHERE delivered_at IS NULL AND kind = 'workspace.role_set' AND payload->>'userId' = $1`,
    [daveId],
  );
  // Each replica's drains try it again (a mutation drains while it waits for its own facts) until it is stuck.
  for (let i = 0; ; i++) {
    const [row] = await set.sql<{ stuck: boolean }>(`SELECT stuck_at IS NOT NULL AS stuck FROM permit_outbox WHERE id = $1`, [stuckId]);
    if (row!.stuck) break;
    if (i === 300) throw new Error("the refused fact never became stuck");
    ok(await (i % 2 ? set.b : set.a).gql(CREATE_NOTE, { title: `nudge ${i}` }, owner));
  }
  const stuckLine = [set.a, set.b].flatMap((r) => r.log().split("\n")).find((l) => l.includes(`"factId":"${stuckId}"`) && l.includes("fact stuck"));
  expect(JSON.parse(stuckLine!)).toMatchObject({
    level: 50,
    fact: "workspace.role_set",
    objects: [`workspaces:${refusedWs}`, `users:${daveId}`],
    answer: expect.stringContaining("refused by the relay (422) (HTTP 422)"),
  });

  // (a) Facts about another workspace go on, through either replica, a removal included; so do
  // facts about the stuck fact's user elsewhere (they only rely on that user, as it does).
  const shared = await set.b.gql(SHARE, { w: otherWs, email: emails[1] }, owner);
  expect(ok(shared).shareWorkspace).toEqual({ role: "VIEWER" });
  expect(shared.extensions?.factsPending).toBeUndefined();
  expect(await canRead(bobId!, otherWs)).toBe(true);
  const unshared = await set.a.gql(UNSHARE, { w: otherWs, userId: bobId }, owner);
  expect(ok(unshared).unshareWorkspace).toBe(true);
  expect(unshared.extensions?.factsPending).toBeUndefined();
  expect(await canRead(bobId!, otherWs)).toBe(false);
  ok(await set.b.gql(SHARE, { w: otherWs, email: emails[2] }, owner));
  expect(await canRead(daveId!, otherWs)).toBe(true);
  expect(await canRead(daveId!, refusedWs)).toBe(false);

  // (b) A later fact of the refused workspace is not delivered, not even tried: its mutation
  // answers without waiting for it, and both replicas export the stuck fact.
  const sentBefore = { answered: relay.answered.length, forwarded: relay.forwarded.length };
  const started = Date.now();
  const blocked = await set.b.gql(SHARE, { w: refusedWs, email: emails[3] }, owner);
  expect(ok(blocked).shareWorkspace).toEqual({ role: "VIEWER" });
  expect(blocked.extensions?.factsPending).toBe(true);
  // OUTBOX_WAIT_MS is 3 s: a fact held behind a stuck one is not waited for.
  expect(Date.now() - started).toBeLessThan(1500);
  await new Promise((resolve) => setTimeout(resolve, 2500)); // a background delivery round on each replica
  expect(await canRead(erinId!, refusedWs)).toBe(false);
  expect(await canRead(daveId!, refusedWs)).toBe(false);
  const aboutErin = (r: { url: string; body: string }) => r.url.includes(erinId!) || r.body.includes(erinId!);
  expect([...relay.answered.slice(sentBefore.answered), ...relay.forwarded.slice(sentBefore.forwarded)].filter(aboutErin)).toEqual([]);
  const [held] = await set.sql<{ n: number }>(`SELECT count(*)::int AS n FROM permit_outbox WHERE delivered_at IS NULL`);
  expect(held!.n).toBe(2);
  expect(await stuckGauge(set.a)).toBe('permit_outbox_stuck{kind="workspace.role_set"} 1');
  expect(await stuckGauge(set.b)).toBe('permit_outbox_stuck{kind="workspace.role_set"} 1');
  expect(await pdpFacts(set.permit)).not.toEqual(await databaseFacts(set.sql));

  // (c) Permit takes the workspace's writes again; the operator skips the stuck fact: its
  // objects are repaired from the database, and the fact held behind it follows.
  refusing = false;
  const restoreEnv = pointCommandLine({ databaseUrl: set.databaseUrl, permit: set.permitSettings });
  let skipped;
  try {
    skipped = await runCli(main, "outbox", "skip", stuckId);
  } finally {
    restoreEnv();
  }
  expect(skipped.err.filter((l) => !l.startsWith("Repairing "))).toEqual([]);
  expect(skipped.code).toBe(0);
  expect(skipped.out).toContain(`+ role viewer ${daveId} on workspaces:${refusedWs}`);
  await set.settle();
  expect(await pdpFacts(set.permit)).toEqual(await databaseFacts(set.sql));
  expect(await canRead(daveId!, refusedWs)).toBe(true);
  expect(await canRead(erinId!, refusedWs)).toBe(true);
  expect(await canRead(bobId!, refusedWs)).toBe(false);
  expect(await stuckGauge(set.a)).toBe('permit_outbox_stuck{kind="workspace.role_set"} 0');
});
