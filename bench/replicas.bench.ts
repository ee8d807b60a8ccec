/**
 * Two real API processes on one embedded PostgreSQL and one local PDP (the replica harness of
 * the tests), measuring what the commit-order outbox costs and gives:
 *
 * - read-your-writes across replicas: from `shareWorkspace` returning on A to the sharee's
 *   first successful read on B, and how many reads were refused before it;
 * - outbox throughput in facts/s, draining the same backlog with two replicas delivering,
 *   then with one, against a baseline of the same fact writes made directly through the SDK
 *   (no outbox) in the same run.
 *
 *   npx tsx bench/replicas.bench.ts
 */
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import { PermitFacts } from "../src/permit/fact-writer";
import { startReplicas, type ReplicaSet } from "../test/support/replicas";
import { percentile, runBench, startPostgres } from "./api-support";

const SHARES = 30;
const BACKLOG = 2000;
const TIME_BUDGET_MS = 60_000;

const CREATE_WORKSPACE = `mutation($name: String!) { createWorkspace(input: { name: $name }) { id } }`;
const SHARE = `mutation($w: ID!) { shareWorkspace(workspaceId: $w, email: "reader@bench.local", role: VIEWER) { role } }`;
const WORKSPACE = `query($id: ID!) { workspace(id: $id) { id } }`;

async function shareThenRead(set: ReplicaSet): Promise<void> {
  const owner = await set.token("owner@bench.local");
  const reader = await set.token("reader@bench.local");
  await set.a.gql(`{ me { id } }`, {}, owner);
  await set.b.gql(`{ me { id } }`, {}, reader);
  await set.permit.api.users.update(set.userIdFor("owner@bench.local"), { attributes: { plan: "premium" } });
  const latencies: number[] = [];
  let refusedReads = 0;
  let pending = 0;
  for (let i = 0; i < SHARES; i++) {
    const w = ((await set.a.gql(CREATE_WORKSPACE, { name: `w${i}` }, owner)).data!.createWorkspace as { id: string }).id;
    const shared = await set.a.gql(SHARE, { w }, owner);
    if (shared.extensions?.factsPending) pending++;
    const returned = performance.now();
    for (;;) {
      const read = await set.b.gql(WORKSPACE, { id: w }, reader);
      if (!read.errors) break;
      refusedReads++;
      if (performance.now() - returned > 10_000) throw new Error("the sharee never got access");
    }
    latencies.push(performance.now() - returned);
  }
  console.log(`share on A → sharee's first successful read on B (${SHARES} shares)`);
  console.log(`  p50 ${percentile(latencies, 0.5).toFixed(1)} ms, max ${Math.max(...latencies).toFixed(1)} ms`);
  console.log(`  reads refused before access: ${refusedReads}; shares answered with factsPending: ${pending}`);
}

async function backlog(set: ReplicaSet, n: number): Promise<void> {
  await set.sql(
    `INSERT INTO permit_outbox (kind, payload, object_keys, changed_keys)
     SELECT 'note.created', jsonb_build_object('noteId', id, 'ownerId', $1::text, 'workspaceId', null), ARRAY['notes:' || id], ARRAY['notes:' || id]
       FROM (SELECT gen_random_uuid()::text AS id FROM generate_series(1, $2)) AS notes`,
    [set.userIdFor("owner@bench.local"), n],
  );
}

/** Drains a backlog through the replicas' own delivery, started by one mutation on each given replica. */
async function drainRate(set: ReplicaSet, replicas: ("a" | "b")[]): Promise<number> {
  const owner = await set.token("owner@bench.local");
  await backlog(set, BACKLOG);
  const started = performance.now();
  // A mutation makes its replica drain the outbox (its own fact is the last one).
  await Promise.all(replicas.map((r) => set[r].gql(`mutation { createNote(input: { title: "kick" }) { id } }`, {}, owner)));
  await set.settle(TIME_BUDGET_MS);
  return (BACKLOG + replicas.length) / ((performance.now() - started) / 1000);
}

async function directRate(set: ReplicaSet): Promise<number> {
  const facts = new PermitFacts({ permit: set.permit, tenant: "default" });
  const owner = set.userIdFor("owner@bench.local");
  const started = performance.now();
  for (let i = 0; i < BACKLOG; i++) await facts.createNote(randomUUID(), owner);
  return BACKLOG / ((performance.now() - started) / 1000);
}

async function main(): Promise<void> {
  const postgres = await startPostgres();
  await postgres.pg.createDatabase("bench");
  const set = await startReplicas({ databaseUrl: postgres.pg.urlFor("bench") });
  try {
    await shareThenRead(set);
    const direct = await directRate(set);
    const two = await drainRate(set, ["a", "b"]);
    const directAgain = await directRate(set);
    await set.b.kill("SIGTERM");
    const one = await drainRate(set, ["a"]);
    const baseline = (direct + directAgain) / 2;
    console.log(`\noutbox throughput, backlog of ${BACKLOG} note.created facts (one REST call each)`);
    console.log(`  baseline: the same writes straight through the SDK   ${baseline.toFixed(0)} facts/s`);
    console.log(`  two replicas delivering                              ${two.toFixed(0)} facts/s  (${(two / baseline).toFixed(2)} × baseline)`);
    console.log(`  one replica delivering                               ${one.toFixed(0)} facts/s  (${(one / baseline).toFixed(2)} × baseline)`);
  } finally {
    await set.stop();
    await postgres.stop();
  }
}

runBench(main, 15 * 60_000);
