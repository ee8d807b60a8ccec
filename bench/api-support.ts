/**
 * Shared pieces of the API benchmarks (`api-overhead.bench.ts`, `list-scale.bench.ts`) and the
 * Permit tool benchmarks (`policy-preview.bench.ts`, `reconcile.bench.ts`): the full stack as
 * `npm start` runs it, a keep-alive GraphQL client, PDP call and check counters read at the
 * local PDP, SQL seeding, alternating measurement rounds and table printing. Loopback only;
 * every loop is bounded in count and time.
 */
import "reflect-metadata";
import { fork, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Permit } from "permitio";
import { startApi, type RunningApi } from "../src/app";
import { policy } from "../src/authz/policy";
import { createPermitClient } from "../src/permit/client";
import { applyPolicy } from "../src/permit/policy-sync";
import { createLogger } from "../src/common/logger";
import { loadConfig, type Config } from "../src/config";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../src/db/embedded-postgres";
import type { LoadCommand, LoadResult } from "./load-client";

export type GraphQLResult = { data?: Record<string, unknown> | null; errors?: { message: string }[] };
export type Post = (query: string, variables?: Record<string, unknown>) => Promise<GraphQLResult>;

/** The list plan TTL the benches run with: the production default, set explicitly. */
export const LIST_PLAN_TTL_MS = 10_000;

export interface FullStack {
  api: RunningApi;
  config: Config;
  /** A session token from the dev issuer of this API. */
  token(email: string): Promise<string>;
  /** A GraphQL client of this API for a token. */
  client(token: string): Post;
  pdp: PdpCounters;
  /** The SDK on this API's local PDP (for policy changes made by the bench). */
  permit: Permit;
}

/** One embedded PostgreSQL for the whole bench process. */
export async function startPostgres(): Promise<{ pg: EmbeddedPostgres; dataDir: string; stop(): Promise<void> }> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-api-bench-"));
  const pg = await startEmbeddedPostgres({ dataDir });
  return {
    pg,
    dataDir,
    stop: async () => {
      await pg.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** `startApi` exactly as `npm start` runs it (local PDP, dev issuer), on its own database and DATA_DIR. */
export async function startFullStack(pg: EmbeddedPostgres, dataDir: string, database: string, env: Record<string, string> = {}): Promise<FullStack> {
  await pg.createDatabase(database);
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    LOCAL_PDP_PORT: "0",
    LOG_LEVEL: "silent",
    DATA_DIR: path.join(dataDir, database),
    DATABASE_URL: pg.urlFor(database),
    LIST_PLAN_TTL_MS: String(LIST_PLAN_TTL_MS),
    // The benches send thousands of requests a minute as one user: no rate limit.
    RATE_LIMIT_PER_MINUTE: "0",
    RATE_LIMIT_ANON_PER_MINUTE: "0",
    ...env,
  });
  const api = await startApi(config, createLogger("silent"));
  const token = async (email: string): Promise<string> => {
    const res = await postJson(`${api.url}/dev/token`, { email });
    return (res as { token: string }).token;
  };
  const permit = new Permit({ token: api.permit.apiKey, pdp: api.permit.pdpUrl, apiUrl: api.permit.apiUrl, timeout: 5000, log: { level: "error" } });
  return { api, config, token, client: (t) => graphqlClient(api.url, t), pdp: new PdpCounters(api.permit.pdpUrl, api.permit.apiKey), permit };
}

function postJson(url: string, body: unknown, headers: Record<string, string> = {}, agent?: http.Agent): Promise<unknown> {
  const target = new URL(url);
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        agent,
        headers: { "content-type": "application/json", "content-length": Buffer.byteLength(payload), ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString("utf8")));
          } catch (error) {
            reject(new Error(`HTTP ${res.statusCode} from ${url}: not JSON (${String(error)})`));
          }
        });
        res.on("error", reject);
      },
    );
    req.setTimeout(30_000, () => req.destroy(new Error(`${url}: no answer in 30 s`)));
    req.on("error", reject);
    req.end(payload);
  });
}

/**
 * A GraphQL client over node:http with one keep-alive connection: the client's own cost per
 * request is small and the same for every variant measured.
 */
export function graphqlClient(baseUrl: string, token: string): Post {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = `${baseUrl}/graphql`;
  return async (query, variables = {}) =>
    (await postJson(url, { query, variables }, { authorization: `Bearer ${token}` }, agent)) as GraphQLResult;
}

/** Fails on GraphQL errors: a benchmark that measures errors measures nothing. */
export async function ok(post: Post, query: string, variables?: Record<string, unknown>): Promise<Record<string, unknown>> {
  const result = await post(query, variables);
  if (result.errors?.length || !result.data) throw new Error(`${query.slice(0, 80)}: ${JSON.stringify(result.errors ?? result)}`);
  return result.data;
}

export interface PdpCount {
  /** `POST /allowed/bulk` requests. */
  bulk: number;
  /** `POST /allowed` requests. */
  single: number;
  /** `POST /user-permissions` requests. */
  userPermissions: number;
  /** REST API requests (facts, schema: the list planner's policy reads among them). */
  rest: number;
  /** Decisions made (each check of a bulk is one), from the decision log's sequence number. */
  checks: number;
}

/** Counts at the local PDP: `/local/stats` for requests, `/local/decisions` for checks. */
export class PdpCounters {
  constructor(
    private readonly url: string,
    private readonly apiKey: string,
  ) {}

  private async call(p: string, method = "GET"): Promise<unknown> {
    const res = await fetch(`${this.url}${p}`, { method, headers: { authorization: `Bearer ${this.apiKey}` } });
    if (!res.ok) throw new Error(`${method} ${p}: HTTP ${res.status}`);
    return res.status === 204 ? null : res.json().catch(() => null);
  }

  private async lastSeq(): Promise<number> {
    return ((await this.call("/local/decisions?limit=1")) as { last_seq: number }).last_seq;
  }

  /** Starts counting; `stop()` answers what happened at the PDP since. */
  async start(): Promise<{ stop(): Promise<PdpCount> }> {
    await this.call("/local/stats/reset", "POST");
    const seq0 = await this.lastSeq();
    return {
      stop: async () => {
        const requests = ((await this.call("/local/stats")) as { requests: Record<string, number> }).requests;
        const seq1 = await this.lastSeq();
        const rest = Object.entries(requests)
          .filter(([route]) => !route.includes("/allowed") && !route.includes("/user-permissions") && !route.includes("/local/"))
          .reduce((sum, [, n]) => sum + n, 0);
        return {
          bulk: requests["POST /allowed/bulk"] ?? 0,
          single: requests["POST /allowed"] ?? 0,
          userPermissions: requests["POST /user-permissions"] ?? 0,
          rest,
          checks: seq1 - seq0,
        };
      },
    };
  }

  /** What one call of `fn` costs at the PDP. */
  async of(fn: () => Promise<unknown>): Promise<PdpCount> {
    const counting = await this.start();
    await fn();
    return counting.stop();
  }
}

export const decisionCalls = (c: PdpCount): number => c.bulk + c.single;

/**
 * Seeds `total` personal notes with one INSERT … SELECT generate_series, newest first every
 * 1 ms apart: `own` of them (spread evenly through the list) owned by `caller`, the others by
 * `others` in turn. Personal notes need no PDP facts for these checks: the Authorizer sends
 * `owner` (and `workspace`) from the row with every check, the RBAC part needs only the user's
 * role, and no relationship tuple exists for a personal note.
 */
export async function seedNotes(stack: FullStack, opts: { total: number; own: number; caller: string; others: string[] }): Promise<void> {
  const every = Math.floor(opts.total / opts.own);
  await stack.api.dataSource.query(
    `INSERT INTO notes (title, body, owner_id, workspace_id, version, created_at, updated_at)
     SELECT 'seeded note ' || g, 'body of seeded note ' || g,
            CASE WHEN g % $2 = 0 AND g / $2 <= $3 THEN $4::uuid ELSE ($5::uuid[])[1 + g % cardinality($5::uuid[])] END,
            NULL, 1, t, t
       FROM generate_series(1, $1::int) AS g, LATERAL (SELECT now() - (g * interval '1 millisecond') AS t) AS ts`,
    [opts.total, every, opts.own, opts.caller, opts.others],
  );
  await stack.api.dataSource.query(`ANALYZE notes`);
}

/**
 * Seeds by SQL only (nothing reaches the PDP) `users` users, `user1@example.com` and on, and
 * `workspaces` workspaces owned by the users in turn, each with an editor and a viewer besides
 * its owner (picked by a hash of its id; one who is a member already is skipped). Answers the
 * users in order.
 */
export async function seedUsersAndWorkspaces(stack: FullStack, counts: { users: number; workspaces: number }): Promise<{ id: string; email: string }[]> {
  const ds = stack.api.dataSource;
  const users = Array.from({ length: counts.users }, (_, i) => ({ id: randomUUID(), email: `user${i + 1}@example.com` }));
  const ids = users.map((u) => u.id);
  await ds.query(`INSERT INTO users (id, email) SELECT * FROM unnest($1::uuid[], $2::text[])`, [ids, users.map((u) => u.email)]);
  await ds.query(`INSERT INTO workspaces (name, owner_id) SELECT 'ws ' || g, ($1::uuid[])[1 + g % $2] FROM generate_series(1, $3::int) g`, [ids, ids.length, counts.workspaces]);
  await ds.query(
    `INSERT INTO workspace_members (workspace_id, user_id, role)
       SELECT id, owner_id, 'OWNER' FROM workspaces
     UNION ALL SELECT id, ($1::uuid[])[1 + (abs(hashtext(id::text)) + 1) % $2], 'EDITOR' FROM workspaces
     UNION ALL SELECT id, ($1::uuid[])[1 + (abs(hashtext(id::text)) + 2) % $2], 'VIEWER' FROM workspaces
     ON CONFLICT DO NOTHING`,
    [ids, ids.length],
  );
  return users;
}

/**
 * Seeds notes number `from` to `to` by SQL only: owned by `users` in turn, 3 in 10 in one of the
 * workspaces (in turn), the others personal.
 */
export async function seedNotesAcrossWorkspaces(stack: FullStack, users: { id: string }[], from: number, to: number): Promise<void> {
  const ids = users.map((u) => u.id);
  await stack.api.dataSource.query(
    `WITH ws AS (SELECT array_agg(id) AS ids FROM workspaces)
     INSERT INTO notes (title, body, owner_id, workspace_id, version)
     SELECT 'note ' || g, 'body', ($1::uuid[])[1 + g % $2], CASE WHEN g % 10 < 3 THEN ws.ids[1 + g % cardinality(ws.ids)] END, 1
       FROM generate_series($3::int, $4::int) g, ws`,
    [ids, ids.length, from, to],
  );
}

// ─── measurement ────────────────────────────────────────────────────────────────────────

export interface Variant {
  name: string;
  /** One request; throws on a wrong answer. */
  request(): Promise<void>;
}

export interface RoundSample {
  n: number;
  ms: number;
  cpuMs: number;
}

export interface VariantResult {
  name: string;
  rounds: RoundSample[];
  latencies: number[];
}

/**
 * Alternating rounds: in each round every variant runs `perRound` sequential requests (or until
 * `roundBudgetMs`), the order reversed every other round, so drift and GC hit all alike.
 * CPU is `process.cpuUsage()` around each variant's round: the API, its in-process local PDP
 * and the client all run in this process (PostgreSQL does not).
 */
export async function alternate(
  variants: Variant[],
  opts: { rounds: number; perRound: number; roundBudgetMs: number; warmup: number; totalBudgetMs: number },
): Promise<VariantResult[]> {
  for (const v of variants) for (let i = 0; i < opts.warmup; i++) await v.request();
  const results: VariantResult[] = variants.map((v) => ({ name: v.name, rounds: [], latencies: [] }));
  const started = performance.now();
  for (let round = 0; round < opts.rounds && performance.now() - started < opts.totalBudgetMs; round++) {
    const order = variants.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const v = variants[i]!;
      const r = results[i]!;
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      let n = 0;
      while (n < opts.perRound && performance.now() - t0 < opts.roundBudgetMs) {
        const s = performance.now();
        await v.request();
        r.latencies.push(performance.now() - s);
        n++;
      }
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      r.rounds.push({ n, ms, cpuMs: (cpu.user + cpu.system) / 1000 });
    }
  }
  return results;
}

export const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
export const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
};

export const reqPerSec = (r: RoundSample): number => (r.n * 1000) / r.ms;
export const cpuPerReq = (r: RoundSample): number => r.cpuMs / r.n;

export interface Summary {
  name: string;
  requests: number;
  reqPerSec: number;
  reqPerSecMin: number;
  reqPerSecMax: number;
  cpuMsPerReq: number;
  p50: number;
  p95: number;
}

export function summarize(r: VariantResult): Summary {
  const rates = r.rounds.map(reqPerSec);
  return {
    name: r.name,
    requests: r.rounds.reduce((s, x) => s + x.n, 0),
    reqPerSec: median(rates),
    reqPerSecMin: Math.min(...rates),
    reqPerSecMax: Math.max(...rates),
    cpuMsPerReq: median(r.rounds.map(cpuPerReq)),
    p50: percentile(r.latencies, 0.5),
    p95: percentile(r.latencies, 0.95),
  };
}

/** The ratio a/b of each round (same round index), min and max: the spread of a ratio. */
export function roundRatios(a: VariantResult, b: VariantResult, of: (r: RoundSample) => number): { min: number; max: number } {
  const ratios = a.rounds.slice(0, b.rounds.length).map((r, i) => of(r) / of(b.rounds[i]!));
  return { min: Math.min(...ratios), max: Math.max(...ratios) };
}

export function printVariants(title: string, summaries: Summary[]): void {
  console.log(`\n${title}`);
  console.log(`  ${"variant".padEnd(60)} ${"n".padStart(5)} ${"req/s med".padStart(10)} ${"(min–max)".padStart(14)} ${"p50 ms".padStart(8)} ${"p95 ms".padStart(8)} ${"CPU ms/req".padStart(11)}`);
  for (const s of summaries) {
    console.log(
      `  ${s.name.padEnd(60)} ${String(s.requests).padStart(5)} ${s.reqPerSec.toFixed(0).padStart(10)} ${`(${s.reqPerSecMin.toFixed(0)}–${s.reqPerSecMax.toFixed(0)})`.padStart(14)} ${s.p50.toFixed(2).padStart(8)} ${s.p95.toFixed(2).padStart(8)} ${s.cpuMsPerReq.toFixed(2).padStart(11)}`,
    );
  }
}

export interface GoalRow {
  figure: string;
  measured: string;
  goal: string;
  met: boolean;
}

export function printGoals(title: string, rows: GoalRow[]): void {
  const w = Math.max(...rows.map((r) => r.figure.length), 6);
  const m = Math.max(...rows.map((r) => r.measured.length), 8);
  const g = Math.max(...rows.map((r) => r.goal.length), 4);
  console.log(`\n${title}\n`);
  console.log(`| ${"figure".padEnd(w)} | ${"measured".padEnd(m)} | ${"goal".padEnd(g)} | met |`);
  console.log(`|${"-".repeat(w + 2)}|${"-".repeat(m + 2)}|${"-".repeat(g + 2)}|-----|`);
  for (const r of rows) console.log(`| ${r.figure.padEnd(w)} | ${r.measured.padEnd(m)} | ${r.goal.padEnd(g)} | ${r.met ? "yes" : "NO "} |`);
}

/** Runs a bench's main with a hard deadline: a hung bench fails instead of blocking `npm run bench`. */
export function runBench(main: () => Promise<void>, deadlineMs: number): void {
  const timer = setTimeout(() => {
    console.error(`benchmark exceeded its ${deadlineMs / 1000} s deadline`);
    process.exit(1);
  }, deadlineMs);
  timer.unref();
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}

// ─── the load client in its own process ────────────────────────────────────────────────

export interface LoadClient {
  run(cmd: Omit<LoadCommand, "id">): Promise<LoadResult>;
  stop(): void;
}

/** Forks bench/load-client.ts: requests are sent from there, so this process's CPU is the API's. */
export function startLoadClient(): LoadClient {
  const child = fork(path.join(__dirname, "load-client.ts"), [], { execArgv: ["--import", "tsx"], stdio: ["ignore", "inherit", "inherit", "ipc"] });
  const waiting = new Map<number, (r: LoadResult) => void>();
  let next = 0;
  child.on("message", (r: LoadResult) => waiting.get(r.id)?.(r));
  return {
    run: (cmd) =>
      new Promise((resolve, reject) => {
        const id = next++;
        waiting.set(id, (r) => {
          waiting.delete(id);
          if (r.error) reject(new Error(`${cmd.query.slice(0, 60)}: ${r.error}`));
          else resolve(r);
        });
        child.send({ ...cmd, id });
      }),
    stop: () => child.kill(),
  };
}

/** User + system CPU of another process so far, in ms (Linux /proc; clock ticks of 10 ms). */
export function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  // Fields after the parenthesized command name: utime and stime are the 12th and 13th.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}
const TICKS_PER_SECOND = 100;

export interface RemoteVariant {
  name: string;
  url: string;
  token: string;
  query: string;
  variables?: Record<string, unknown>;
}

export interface RemoteRoundSample extends RoundSample {
  /** CPU of the PDP's own process during the round (sidecar shape), ms. */
  pdpCpuMs?: number;
}

/**
 * `alternate` with the requests sent by the load client: CPU per round is this process's (the
 * API, with its in-process PDP when it has one) and, given `pdpPid`, the PDP's process.
 */
export async function alternateRemote(
  client: LoadClient,
  variants: RemoteVariant[],
  opts: { rounds: number; perRound: number; roundBudgetMs: number; warmup: number; totalBudgetMs: number; pdpPid?: number },
): Promise<(Omit<VariantResult, "rounds"> & { rounds: RemoteRoundSample[] })[]> {
  for (const v of variants) await client.run({ url: v.url, token: v.token, query: v.query, variables: v.variables, n: opts.warmup, budgetMs: 60_000 });
  const results = variants.map((v) => ({ name: v.name, rounds: [] as RemoteRoundSample[], latencies: [] as number[] }));
  const started = performance.now();
  for (let round = 0; round < opts.rounds && performance.now() - started < opts.totalBudgetMs; round++) {
    const order = variants.map((_, i) => i);
    if (round % 2 === 1) order.reverse();
    for (const i of order) {
      const v = variants[i]!;
      const cpu0 = process.cpuUsage();
      const pdp0 = opts.pdpPid === undefined ? 0 : processCpuMs(opts.pdpPid);
      const r = await client.run({ url: v.url, token: v.token, query: v.query, variables: v.variables, n: opts.perRound, budgetMs: opts.roundBudgetMs });
      const cpu = process.cpuUsage(cpu0);
      const sample: RemoteRoundSample = { n: r.n, ms: r.ms, cpuMs: (cpu.user + cpu.system) / 1000 };
      if (opts.pdpPid !== undefined) sample.pdpCpuMs = processCpuMs(opts.pdpPid) - pdp0;
      results[i]!.rounds.push(sample);
      results[i]!.latencies.push(...r.latencies);
    }
  }
  return results;
}

// ─── the PDP as a sidecar ──────────────────────────────────────────────────────────────

export interface SidecarPdp {
  url: string;
  apiKey: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * The local PDP in its own process on loopback (`npm run pdp:local`), as the compose sidecar
 * runs it, with the project's policy applied through the SDK.
 */
export async function startSidecarPdp(dataDir: string): Promise<SidecarPdp> {
  const apiKey = `sidecar_${randomUUID()}`;
  const child = spawn(process.execPath, ["--import", "tsx", path.join(__dirname, "../packages/local-pdp/src/main.ts")], {
    env: { ...process.env, LOCAL_PDP_API_KEY: apiKey, LOCAL_PDP_PORT: "0", LOCAL_PDP_STATE: path.join(dataDir, "sidecar-pdp.json"), LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString("utf8");
      const ready = /"url":"(http:\/\/[^"]+)"[^\n]*"local PDP ready"/.exec(out);
      if (ready) resolve(ready[1]!);
    });
    child.once("exit", (code) => reject(new Error(`the sidecar PDP exited with ${code}: ${out.slice(-500)}`)));
  });
  child.stdout!.resume();
  // The project's client (silent): applying the policy expects 404s for what does not exist yet.
  await applyPolicy(createPermitClient({ apiKey, pdpUrl: url, apiUrl: url, timeoutMs: 5000 }, createLogger("silent")), policy, { tenant: "default" });
  return {
    url,
    apiKey,
    pid: child.pid!,
    stop: () =>
      new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
