/**
 * Two real API processes on one database and one PDP, operated: facts written through both
 * reach the PDP exactly once; a PDP outage seen by one replica opens its circuit only; the
 * outbox drains after an outage; SIGTERM lets the request in flight finish and exits with 0.
 */
import { pdpStats, resetPdpStats } from "../support/permit";
import { startReplicas, type GqlResult, type Replica, type ReplicaSet } from "../support/replicas";

jest.setTimeout(120_000);

const COOLDOWN_MS = 1500;
let set: ReplicaSet;

beforeAll(async () => {
  set = await startReplicas({
    outboxWaitMs: 0,
    permitTimeoutMs: 1000,
    env: { PDP_BREAKER_FAILURES: "5", PDP_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS), SHUTDOWN_DRAIN_MS: "3000" },
  });
}, 120_000);
afterAll(() => set?.stop());

const ME = `{ me { id } }`;
// `roles` is asked of the PDP on every request, whatever the data.
const ME_ROLES = `{ me { id roles } }`;
const CREATE_NOTE = `mutation($title: String!, $w: ID) { createNote(input: { title: $title, workspaceId: $w }) { id } }`;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const ok = (res: GqlResult) => {
  expect(res.errors).toBeUndefined();
  return res.data!;
};
const code = (res: GqlResult) => res.errors?.[0]?.extensions?.code;
const readyz = async (r: Replica) => (await fetch(`${r.url}/readyz`)).json();

async function signIn(email: string): Promise<string> {
  const token = await set.token(email);
  ok(await set.a.gql(ME, {}, token));
  ok(await set.b.gql(ME, {}, token));
  return token;
}

/** Runs `count` calls, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await call(next++);
    }),
  );
}

it("delivers facts written through both replicas exactly once", async () => {
  const token = await signIn("once@example.com");
  await set.settle();
  await resetPdpStats(set.permitSettings);
  const [{ before }] = await set.sql<{ before: string }>(`SELECT coalesce(max(id), 0)::text AS before FROM permit_outbox`);
  await inParallel(60, 6, async (i) => ok(await (i % 2 ? set.a : set.b).gql(CREATE_NOTE, { title: `once ${i}` }, token)));
  await set.settle();
  const recorded = await set.sql<{ n: number }>(`SELECT count(*)::int AS n FROM permit_outbox WHERE id > $1 AND kind = 'note.created'`, [before]);
  const stats = await pdpStats(set.permitSettings);
  const writes = Object.entries(stats)
    .filter(([route]) => route.startsWith("POST /v2/facts/") && route.endsWith("/resource_instances"))
    .reduce((sum, [, n]) => sum + n, 0);
  expect(recorded[0]!.n).toBe(60);
  expect(writes).toBe(60);
});

it("opens the circuit of the replica that cannot reach the PDP only; both recover", async () => {
  const token = await signIn("circuit@example.com");
  set.a.pdpProxy.mode = "refuse";
  try {
    for (let i = 0; i < 5; i++) expect(code(await set.a.gql(ME_ROLES, {}, token))).toBe("AUTHZ_UNAVAILABLE");
    const started = Date.now();
    expect(code(await set.a.gql(ME_ROLES, {}, token))).toBe("AUTHZ_UNAVAILABLE");
    expect(Date.now() - started).toBeLessThan(50);
    expect(await readyz(set.a)).toEqual({ status: "ready", database: "up", pdp: "down" });
    // B never saw a failure.
    ok(await set.b.gql(ME_ROLES, {}, token));
    expect(await readyz(set.b)).toEqual({ status: "ready", database: "up", pdp: "up" });
  } finally {
    set.a.pdpProxy.mode = "forward";
  }
  await sleep(COOLDOWN_MS + 100);
  ok(await set.a.gql(ME_ROLES, {}, token));
  expect(await readyz(set.a)).toEqual({ status: "ready", database: "up", pdp: "up" });
  ok(await set.b.gql(ME_ROLES, {}, token));
  // Log lines written while handling a request carry its id.
  expect(set.a.log()).toMatch(/"reqId":"[^"]+"[^\n]*"msg":"authorization unavailable"/);
});

it("drains 500 facts recorded during a Permit API outage once it is back", async () => {
  const token = await signIn("drain@example.com");
  await set.settle();
  set.a.apiProxy.mode = "refuse";
  set.b.apiProxy.mode = "refuse";
  let back = 0;
  try {
    await inParallel(500, 10, async (i) => {
      const res = await (i % 2 ? set.a : set.b).gql(CREATE_NOTE, { title: `outage ${i}` }, token);
      ok(res);
      expect(res.extensions?.factsPending).toBe(true);
    });
    const [{ n }] = await set.sql<{ n: number }>(`SELECT count(*)::int AS n FROM permit_outbox WHERE delivered_at IS NULL`);
    expect(n).toBe(500);
  } finally {
    set.a.apiProxy.mode = "forward";
    set.b.apiProxy.mode = "forward";
    back = Date.now();
  }
  await set.settle(90_000);
  const drainedMs = Date.now() - back;
  const [{ attempts }] = await set.sql<{ attempts: number }>(`SELECT max(attempts)::int AS attempts FROM permit_outbox`);
  process.stdout.write(`outbox: 500 facts recorded during the outage, pending = 0 ${drainedMs} ms after the API came back (head fact tried ${attempts} times)\n`);
  expect(drainedMs).toBeLessThan(90_000);
});

it("SIGTERM: the request in flight completes, the process exits with 0", async () => {
  const token = await signIn("shutdown@example.com");
  // Every decision of B is late by 600 ms (below its 1 s PDP timeout): the request is in flight when SIGTERM comes.
  set.b.pdpProxy.delayMs = 600;
  set.b.pdpProxy.mode = "slow";
  const started = Date.now();
  const inFlight = set.b.gql(ME_ROLES, {}, token);
  await sleep(200);
  const exit = set.b.kill("SIGTERM");
  const res = await inFlight;
  expect(res.status).toBe(200);
  expect((ok(res).me as { roles: string[] }).roles).toEqual(["user"]);
  expect(Date.now() - started).toBeGreaterThanOrEqual(600);
  expect(await exit).toBe(0);
  expect(set.b.log()).toContain("outbox drain at shutdown");
  // A new connection is refused once the server is closed; A still serves.
  await expect(fetch(`${set.b.url}/healthz`)).rejects.toThrow();
  ok(await set.a.gql(ME, {}, token));
});
