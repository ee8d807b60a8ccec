/**
 * The local PDP over loopback HTTP, through the real permitio SDK, configured with the
 * project's policy (src/authz/policy.ts, applied by applyPolicy as `npm start` does):
 * - single-check latency (`permit.check`, sequential);
 * - bulk throughput for bulks of 100 and 1,000 checks (`permit.bulkCheck`);
 * - check cost and write latency (acknowledged = fsync'ed) with 100,000 tuples as ratios to a
 *   baseline with 100 tuples: two servers in this process, measured in alternating rounds.
 * Every loop stops at its iteration count or its time budget, whichever comes first. The
 * decision function alone is measured by the package's own benchmark
 * (packages/local-pdp/bench/localpdp.bench.ts).
 *
 *   npx tsx bench/localpdp-http.bench.ts      (or: npm run bench -- localpdp)
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Permit } from "permitio";
import { startLocalPdp } from "@notes/local-pdp";
import { policy } from "../src/authz/policy";
import { createLogger } from "../src/common/logger";
import { createPermitClient } from "../src/permit/client";
import { applyPolicy } from "../src/permit/policy-sync";

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
}

/** Runs `fn` until `count` iterations or `budgetMs` elapse, timing nothing (a warm-up). */
async function warmUp(count: number, budgetMs: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < count && performance.now() - start < budgetMs; i++) await fn(i);
}

const fmt = (ms: number) => ms.toFixed(3).padStart(8);
const rows: string[] = [];
const line = (label: string, s: Sample, extra = "") =>
  rows.push(`${label.padEnd(46)} ${String(s.n).padStart(6)} ${fmt(s.median)} ${fmt(s.p95)} ${fmt(s.p99)} ${extra}`);

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
    return { n: sorted.length, median: at(0.5), p95: at(0.95), p99: at(0.99) };
  }
}

/** The project's policy, and the facts the checks rely on: two users, alice owning workspace w0. */
async function seed(permit: Permit): Promise<void> {
  await applyPolicy(permit, policy, { tenant: "default" });
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
  const client = (url: string) => createPermitClient({ apiKey: API_KEY, pdpUrl: url, apiUrl: url, timeoutMs: 30_000 }, createLogger("silent"));
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
    for (const s of sides) await seed(s.permit);
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
      await warmUp(800, 1500, (i) => s.permit.check(checks[i % 4].user, checks[i % 4].action, checks[i % 4].resource));
      await warmUp(10, 1000, () => s.permit.bulkCheck(bulkOf(1000)));
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
