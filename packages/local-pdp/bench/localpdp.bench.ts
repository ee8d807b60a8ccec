/**
 * The local PDP over loopback HTTP, through the real permitio SDK:
 * - single-check latency (`permit.check`, sequential);
 * - bulk throughput for bulks of 100 and 1,000 checks (`permit.bulkCheck`);
 * - check cost and write latency (acknowledged = fsync'ed) with 100,000 tuples as ratios to a
 *   baseline with 100 tuples: two servers in this process, measured in alternating rounds;
 * - the decision function alone (in-process, no HTTP), on a 100-tuple and a 100,000-tuple
 *   state measured in alternating rounds, so machine noise hits both sides alike.
 * Every loop stops at its iteration count or its time budget, whichever comes first.
 *
 *   npx tsx packages/local-pdp/bench/localpdp.bench.ts      (or: npm run bench -- localpdp)
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Permit } from "permitio";
import { startLocalPdp } from "../src";
import type { CheckInput } from "../src/attributes";
import { Database } from "../src/database";
import { Evaluator, RequestMemo } from "../src/evaluator";

const API_KEY = "bench-key";
const HOST = "127.0.0.1";
const BIG = 100_000;
const SMALL = 100;
const NOTES_PER_WORKSPACE = 100;

interface Sample {
  n: number;
  median: number;
  p95: number;
  p99: number;
  mean: number;
  totalMs: number;
}

/** Runs `fn` until `count` iterations or `budgetMs` elapse; returns per-iteration ms statistics. */
async function measure(count: number, budgetMs: number, fn: (i: number) => Promise<unknown>): Promise<Sample> {
  const times: number[] = [];
  const start = performance.now();
  for (let i = 0; i < count && performance.now() - start < budgetMs; i++) {
    const t0 = performance.now();
    await fn(i);
    times.push(performance.now() - t0);
  }
  const totalMs = performance.now() - start;
  const sorted = [...times].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  return { n: times.length, median: at(0.5), p95: at(0.95), p99: at(0.99), mean: times.reduce((a, b) => a + b, 0) / times.length, totalMs };
}

const fmt = (ms: number) => ms.toFixed(3).padStart(8);
const rows: string[] = [];
const line = (label: string, s: Sample, extra = "") =>
  rows.push(`${label.padEnd(46)} ${String(s.n).padStart(6)} ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.p99)} ${extra}`);
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

/** A memory-only state with the benchmark's policy and `tuples` workspace → note tuples. */
async function stateWith(tuples: number): Promise<Database> {
  const db = await Database.open(undefined, quiet);
  await db.execute({ t: "resource.create", key: "workspaces", body: { actions: { get: {}, delete: {} } } });
  await db.execute({
    t: "resource.create",
    key: "notes",
    body: { actions: { get: {}, put: {}, delete: {} }, attributes: { owner: { type: "string" } }, relations: { parent: "workspaces" } },
  });
  await db.execute({ t: "rrole.create", resource: "workspaces", role: { key: "owner", permissions: ["get", "delete"] } });
  await db.execute({
    t: "rrole.create",
    resource: "notes",
    role: { key: "manager", permissions: ["get", "put", "delete"], granted_to: { users_with_role: [{ role: "owner", on_resource: "workspaces", linked_by_relation: "parent" }] } },
  });
  await db.execute({ t: "role.create", role: { key: "user", permissions: ["notes:get"] } });
  await db.execute({ t: "cset.create", set: { key: "own", type: "resourceset", resource_id: "notes", conditions: { "resource.owner": { equals: { ref: "user.key" } } } } });
  await db.execute({ t: "setrule.create", rule: { user_set: "__autogen_user", permission: "notes:put", resource_set: "own" } });
  for (const key of ["alice", "bob"]) {
    await db.execute({ t: "user.create", user: { key } });
    await db.execute({ t: "assignment.create", assignment: { user: key, role: "user", tenant: "default" } });
  }
  await db.execute({ t: "assignment.create", assignment: { user: "alice", role: "owner", resource_instance: "workspaces:w0", tenant: "default" } });
  for (let i = 0; i < tuples; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, tuples - i) }, (_, j) => ({
      subject: `workspaces:w${Math.floor((i + j) / NOTES_PER_WORKSPACE)}`,
      relation: "parent",
      object: `notes:n${i + j}`,
      tenant: "default",
    }));
    await db.execute({ t: "tuple.bulkCreate", tuples: batch });
  }
  return db;
}

/** ns per check of the decision function on each state, median over alternating rounds. */
async function evaluatorRounds(rounds: number, perRound: number, budgetMs: number): Promise<{ small: number; big: number; rounds: number }> {
  const small = await stateWith(SMALL);
  const big = await stateWith(BIG);
  const inputs: CheckInput[] = [
    { user: { key: "alice" }, action: "delete", resource: { type: "notes", key: "n7", tenant: "default" }, context: {} },
    { user: { key: "bob" }, action: "delete", resource: { type: "notes", key: "n7", tenant: "default" }, context: {} },
    { user: { key: "bob" }, action: "get", resource: { type: "notes", key: "n42", tenant: "default" }, context: {} },
    { user: { key: "bob" }, action: "put", resource: { type: "notes", key: "n9", tenant: "default", attributes: { owner: "bob" } }, context: {} },
  ];
  const run = (evaluator: Evaluator): number => {
    const t0 = performance.now();
    for (let i = 0; i < perRound; i++) evaluator.check(inputs[i % inputs.length], new RequestMemo());
    return ((performance.now() - t0) * 1e6) / perRound;
  };
  const es = new Evaluator(small.store);
  const eb = new Evaluator(big.store);
  run(es);
  run(eb);
  const smallNs: number[] = [];
  const bigNs: number[] = [];
  const start = performance.now();
  for (let r = 0; r < rounds && performance.now() - start < budgetMs; r++) {
    smallNs.push(run(es));
    bigNs.push(run(eb));
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  await small.close();
  await big.close();
  return { small: median(smallNs), big: median(bigNs), rounds: smallNs.length };
}

/** Samples of one measurement, collected over several rounds. */
class Samples {
  readonly ms: number[] = [];

  async time(fn: () => Promise<unknown>): Promise<void> {
    const t0 = performance.now();
    await fn();
    this.ms.push(performance.now() - t0);
  }

  stats(): Sample {
    const sorted = [...this.ms].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
    const totalMs = this.ms.reduce((a, b) => a + b, 0);
    return { n: sorted.length, median: at(0.5), p95: at(0.95), p99: at(0.99), mean: totalMs / sorted.length, totalMs };
  }
}

/** The policy of contract/policy.md (the parts the checks use) and two users, through the SDK. */
async function applyPolicy(permit: Permit): Promise<void> {
  await permit.api.resources.create({ key: "notes", name: "Notes", actions: { get: {}, post: {}, put: {}, delete: {} }, attributes: { owner: { type: "string" } } });
  await permit.api.resources.create({ key: "workspaces", name: "Workspaces", actions: { get: {}, post: {}, put: {}, delete: {}, share: {}, add_note: {} } });
  await permit.api.resourceRelations.create("notes", { key: "parent", name: "Parent", subject_resource: "workspaces" });
  await permit.api.resourceRoles.create("workspaces", { key: "owner", name: "Owner", permissions: ["get", "put", "delete", "share", "add_note"] });
  await permit.api.resourceRoles.create("notes", {
    key: "manager",
    name: "Manager",
    permissions: ["get", "put", "delete"],
    granted_to: { users_with_role: [{ role: "owner", on_resource: "workspaces", linked_by_relation: "parent" }] },
  });
  await permit.api.roles.create({ key: "user", name: "User", permissions: ["notes:get", "notes:post"] });
  await permit.api.conditionSets.create({
    key: "own_notes",
    name: "Own notes",
    type: "resourceset",
    resource_id: "notes",
    conditions: { allOf: [{ "resource.owner": { equals: { ref: "user.key" } } }] },
  });
  await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:put", resource_set: "own_notes" });
  for (const key of ["alice", "bob"]) {
    await permit.api.users.sync({ key });
    await permit.api.roleAssignments.assign({ user: key, role: "user", tenant: "default" });
  }
  await permit.api.roleAssignments.assign({ user: "alice", role: "owner", resource_instance: "workspaces:w0", tenant: "default" });
}

/** `count` tuples workspaces:w{i/100} —parent→ notes:n{i}, in bulks of 5,000. */
async function loadTuples(permit: Permit, count: number): Promise<void> {
  for (let i = 0; i < count; i += 5000) {
    const batch = Array.from({ length: Math.min(5000, count - i) }, (_, j) => ({
      subject: `workspaces:w${Math.floor((i + j) / NOTES_PER_WORKSPACE)}`,
      relation: "parent",
      object: `notes:n${i + j}`,
      tenant: "default",
    }));
    await permit.api.relationshipTuples.bulkRelationshipTuples(batch);
  }
}

interface Side {
  label: string;
  permit: Permit;
  single: Samples;
  bulk100: Samples;
  bulk1000: Samples;
  write: Samples;
  written: number;
}

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "localpdp-bench-"));
  // Two servers in this process, one with 100 tuples (the baseline) and one with 100,000,
  // measured in alternating rounds so that GC and machine noise hit both alike.
  const small = await startLocalPdp({ apiKey: API_KEY, host: HOST, port: 0, statePath: path.join(dir, "small", "localpdp.json") });
  const big = await startLocalPdp({ apiKey: API_KEY, host: HOST, port: 0, statePath: path.join(dir, "big", "localpdp.json") });
  const client = (url: string) => new Permit({ token: API_KEY, pdp: url, apiUrl: url, timeout: 30_000, log: { level: "silent" } });
  const side = (label: string, url: string): Side => ({
    label,
    permit: client(url),
    single: new Samples(),
    bulk100: new Samples(),
    bulk1000: new Samples(),
    write: new Samples(),
    written: 0,
  });
  const sides = [side("100 tuples", small.url), side("100,000 tuples", big.url)];

  try {
    for (const s of sides) await applyPolicy(s.permit);
    await loadTuples(sides[0].permit, SMALL);
    const loadStart = performance.now();
    await loadTuples(sides[1].permit, BIG);
    const loadMs = performance.now() - loadStart;

    // The same mixed checks on both: derived (ReBAC) allow, ReBAC deny, RBAC allow, ABAC allow.
    const checks = [
      { user: "alice", action: "delete", resource: { type: "notes", key: "n7", tenant: "default" } },
      { user: "bob", action: "delete", resource: { type: "notes", key: "n7", tenant: "default" } },
      { user: "bob", action: "get", resource: { type: "notes", key: "n42", tenant: "default" } },
      { user: "bob", action: "put", resource: { type: "notes", key: "n9", tenant: "default", attributes: { owner: "bob" } } },
    ];
    const bulkOf = (size: number) => Array.from({ length: size }, (_, i) => checks[i % checks.length]);
    for (const s of sides) {
      const answers = await s.permit.bulkCheck(checks);
      if (answers.join() !== "true,false,true,true") throw new Error(`unexpected decisions on ${s.label}: ${answers.join()}`);
      // Warm-up (JIT, connection pool), so no side is measured on cold code.
      await measure(800, 1500, (i) => s.permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
      await measure(10, 1000, () => s.permit.bulkCheck(bulkOf(1000)));
    }

    const ROUNDS = 8;
    const started = performance.now();
    let rounds = 0;
    for (; rounds < ROUNDS && performance.now() - started < 20_000; rounds++) {
      for (const s of sides) {
        for (let i = 0; i < 250; i++) await s.single.time(() => s.permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
        for (let i = 0; i < 25; i++) await s.bulk100.time(() => s.permit.bulkCheck(bulkOf(100)));
        for (let i = 0; i < 5; i++) await s.bulk1000.time(() => s.permit.bulkCheck(bulkOf(1000)));
        for (let i = 0; i < 25; i++) {
          const object = `notes:x${s.written++}`;
          await s.write.time(() => s.permit.api.relationshipTuples.create({ subject: "workspaces:wx", relation: "parent", object, tenant: "default" }));
        }
      }
    }

    const [a, b] = sides.map((s) => ({ single: s.single.stats(), bulk100: s.bulk100.stats(), bulk1000: s.bulk1000.stats(), write: s.write.stats() }));
    const rate = (x: Sample, size: number) => `→ ${Math.round(size / (x.median / 1000)).toLocaleString("en-US")} checks/s`;
    console.log(`\nLocal PDP over HTTP on ${HOST} through permitio: ${rounds} alternating rounds (loops bounded in count and time)\n`);
    console.log(`${"measurement".padEnd(46)} ${"n".padStart(6)} ${"median".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)}   (ms)`);
    sides.forEach((s, i) => {
      const r = i === 0 ? a : b;
      line(`single check, ${s.label}`, r.single);
      line(`bulk of 100 checks, ${s.label}`, r.bulk100, rate(r.bulk100, 100));
      line(`bulk of 1,000 checks, ${s.label}`, r.bulk1000, rate(r.bulk1000, 1000));
      line(`tuple write (fsync'ed), ${s.label}`, r.write);
    });
    for (const r of rows) console.log(r);
    console.log(`\nloading 100,000 tuples in bulks of 5,000 (fsync'ed): ${(loadMs / 1000).toFixed(1)} s`);
    console.log(`\nratios to the 100-tuple baseline of this run (1.00 = no slowdown)`);
    console.log(`  single check latency           100k / 100 tuples: ${(b.single.median / a.single.median).toFixed(2)}`);
    console.log(`  bulk of 100, per check          100k / 100 tuples: ${(b.bulk100.median / a.bulk100.median).toFixed(2)}`);
    console.log(`  bulk of 1,000, per check        100k / 100 tuples: ${(b.bulk1000.median / a.bulk1000.median).toFixed(2)}`);
    console.log(`  tuple write latency             100k / 100 tuples: ${(b.write.median / a.write.median).toFixed(2)}`);
    console.log(`  per-check cost, bulk of 1,000 vs single check (100 tuples): ${(a.bulk1000.median / 1000 / a.single.median).toFixed(3)}`);

    const ev = await evaluatorRounds(15, 20_000, 6000);
    console.log(`\ndecision function alone (in-process, ${ev.rounds} alternating rounds of 20,000 checks, median)`);
    console.log(`  100 tuples: ${ev.small.toFixed(0)} ns/check   100,000 tuples: ${ev.big.toFixed(0)} ns/check   ratio 100k / 100: ${(ev.big / ev.small).toFixed(2)}`);
  } finally {
    await small.close();
    await big.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
