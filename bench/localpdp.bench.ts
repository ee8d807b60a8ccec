/**
 * The local PDP over loopback HTTP, through the real permitio SDK:
 * - single-check latency (`permit.check`, sequential);
 * - bulk throughput for bulks of 100 and 1,000 checks (`permit.bulkCheck`);
 * - check cost with 100 tuples (baseline, measured first) and again after growing the state
 *   to 100,000 tuples, as ratios to that baseline;
 * - write latency (acknowledged = fsync'ed) at 100 and at 100,000 tuples, same ratio.
 * Every loop stops at its iteration count or its time budget, whichever comes first.
 *
 *   npx tsx bench/localpdp.bench.ts      (or: npm run bench -- localpdp)
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Permit } from "permitio";
import { startLocalPdp } from "../src/localpdp";

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

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "localpdp-bench-"));
  const pdp = await startLocalPdp({ apiKey: API_KEY, host: HOST, port: 0, statePath: path.join(dir, "localpdp.json"), decisionLogSize: 10_000 });
  const permit = new Permit({ token: API_KEY, pdp: pdp.url, apiUrl: pdp.url, timeout: 30_000, log: { level: "silent" } });
  const rows: string[] = [];
  const line = (label: string, s: Sample, extra = "") =>
    rows.push(`${label.padEnd(46)} ${String(s.n).padStart(6)} ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.p99)} ${extra}`);

  try {
    // ---- policy (contract/policy.md) and a few users
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

    const tuplesFor = (from: number, to: number) =>
      Array.from({ length: to - from }, (_, j) => {
        const i = from + j;
        return { subject: `workspaces:w${Math.floor(i / NOTES_PER_WORKSPACE)}`, relation: "parent", object: `notes:n${i}`, tenant: "default" };
      });
    const grow = async (from: number, to: number) => {
      for (let i = from; i < to; i += 5000) await permit.api.relationshipTuples.bulkRelationshipTuples(tuplesFor(i, Math.min(to, i + 5000)));
    };
    await grow(0, SMALL);

    // The mixed check set used at both sizes: derived (ReBAC) allow, ReBAC deny, RBAC allow, ABAC allow.
    const checks = [
      { user: "alice", action: "delete", resource: { type: "notes", key: "n7", tenant: "default" } },
      { user: "bob", action: "delete", resource: { type: "notes", key: "n7", tenant: "default" } },
      { user: "bob", action: "get", resource: { type: "notes", key: "n42", tenant: "default" } },
      { user: "bob", action: "put", resource: { type: "notes", key: "n9", tenant: "default", attributes: { owner: "bob" } } },
    ];
    const bulkOf = (size: number) => Array.from({ length: size }, (_, i) => checks[i % checks.length]);
    const expect = [true, false, true, true];
    const answers = await permit.bulkCheck(checks);
    if (answers.join() !== expect.join()) throw new Error(`unexpected decisions ${answers.join()}`);

    // Warm-up (JIT, connection pool), so the baseline is not measured on cold code.
    await measure(1500, 2500, (i) => permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
    await measure(20, 1500, () => permit.bulkCheck(bulkOf(1000)));

    // ---- at 100 tuples (baseline)
    const single100 = await measure(2000, 4000, (i) => permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
    const bulk100 = await measure(200, 3000, () => permit.bulkCheck(bulkOf(100)));
    const bulk1000 = await measure(40, 4000, () => permit.bulkCheck(bulkOf(1000)));
    const bulk1000Small = bulk1000;
    let w = 0;
    const write100 = await measure(200, 3000, () =>
      permit.api.relationshipTuples.create({ subject: "workspaces:wx", relation: "parent", object: `notes:x${w++}`, tenant: "default" }),
    );

    // ---- grow to 100,000 tuples (1,000 workspaces × 100 notes), then measure the same way
    const growStart = performance.now();
    await grow(SMALL, BIG);
    const growMs = performance.now() - growStart;
    await measure(300, 1000, (i) => permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
    const singleBig = await measure(2000, 4000, (i) => permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
    const bulk1000Big = await measure(40, 4000, () => permit.bulkCheck(bulkOf(1000)));
    const writeBig = await measure(200, 3000, () =>
      permit.api.relationshipTuples.create({ subject: "workspaces:wx", relation: "parent", object: `notes:x${w++}`, tenant: "default" }),
    );

    const perCheck = (s: Sample, size: number) => (s.median / size) * 1000;
    console.log(`\nLocal PDP over HTTP on ${HOST} through permitio (loops stop at their count or time budget)\n`);
    console.log(`${"measurement".padEnd(46)} ${"n".padStart(6)} ${"median".padStart(8)} ${"p95".padStart(8)} ${"p99".padStart(8)}   (ms)`);
    line("single check, 100 tuples", single100);
    line("bulk of 100 checks, 100 tuples", bulk100, `→ ${Math.round(100 / (bulk100.median / 1000)).toLocaleString("en-US")} checks/s`);
    line("bulk of 1,000 checks, 100 tuples", bulk1000Small, `→ ${Math.round(1000 / (bulk1000Small.median / 1000)).toLocaleString("en-US")} checks/s`);
    line("tuple write (fsync'ed), 100 tuples", write100);
    line("single check, 100,000 tuples", singleBig);
    line("bulk of 1,000 checks, 100,000 tuples", bulk1000Big, `→ ${Math.round(1000 / (bulk1000Big.median / 1000)).toLocaleString("en-US")} checks/s`);
    line("tuple write (fsync'ed), 100,000 tuples", writeBig);
    for (const r of rows) console.log(r);
    console.log(`\nloading 99,900 tuples in bulks of 5,000: ${(growMs / 1000).toFixed(1)} s`);
    console.log(`\nratios to the 100-tuple baseline of this run (1.00 = no slowdown)`);
    console.log(`  single check latency      100k / 100 tuples: ${(singleBig.median / single100.median).toFixed(2)}`);
    console.log(`  per-check cost in bulks   100k / 100 tuples: ${(perCheck(bulk1000Big, 1000) / perCheck(bulk1000Small, 1000)).toFixed(2)}`);
    console.log(`  tuple write latency       100k / 100 tuples: ${(writeBig.median / write100.median).toFixed(2)}`);
    console.log(`  per-check cost, bulk of 1,000 vs single check: ${(perCheck(bulk1000Small, 1000) / (single100.median * 1000)).toFixed(3)}`);
  } finally {
    await pdp.close();
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
