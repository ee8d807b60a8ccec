/**
 * What authorization costs the API, in two shapes, each against the same bare API (a build
 * without authorization, bench/bare-server.ts) on the same database, in alternating rounds:
 *
 * - embedded: `startApi` exactly as `npm start` runs it, the local PDP in the API's process
 *   answering by function call (LOCAL_PDP_DECISIONS=in-process);
 * - sidecar: the production shape, the local PDP in a process of its own on loopback (as the
 *   compose sidecar), reached through the permitio SDK over HTTP.
 *
 * The load client runs in a process of its own (bench/load-client.ts), so the CPU measured in
 * this process is the API's alone (with its in-process PDP in the embedded shape); the sidecar's
 * CPU is read from /proc. Also `me` (roles read from the PDP) against `{ __typename }`, and the
 * PDP calls and checks of one request per operation, counted at the local PDP.
 *
 *   npm run bench -- api-overhead      (about 4 minutes)
 */
import "reflect-metadata";
import { createLogger } from "../src/common/logger";
import {
  alternateRemote,
  decisionCalls,
  graphqlClient,
  LIST_PLAN_TTL_MS,
  median,
  ok,
  percentile,
  printGoals,
  roundRatios,
  reqPerSec,
  runBench,
  seedNotes,
  startFullStack,
  startLoadClient,
  startPostgres,
  startSidecarPdp,
  summarize,
  type GoalRow,
  type LoadClient,
  type PdpCount,
  type RemoteRoundSample,
  type RemoteVariant,
  type VariantResult,
} from "./api-support";
import { startBareApi } from "./bare-server";

const NOTES = 1_000;
const OWN = 50;
const OTHER_USERS = 9;
const ROUNDS = 8;
const TOTAL_BUDGET_MS = 40_000;
/**
 * Requests per variant before its rounds, so that every process is measured warm. A sidecar PDP
 * started cold spends 0.8–1.0 ms of CPU per list page over its first 2,000 pages (V8 compiling on
 * its background threads, and the young objects of an unoptimized path) and 0.45–0.5 ms from
 * about the 3,000th on, as a long-running sidecar does; the in-process PDP's evaluation, which
 * only the full stack runs, warms the same way. 300 pages measured the sidecar mostly cold.
 */
const WARMUP = { list: 3_000, note: 1_000, me: 1_000 };

const LIST = `{ notes(first: 50) { edges { node { id title owner { id } viewerCan { get put delete } } } } }`;
const NOTE = `query($id: ID!) { note(id: $id) { id title viewerCan { put delete } } }`;
const ME = `{ me { id email roles } }`;
const TYPENAME = `{ __typename }`;

type Edge = { node: { id: string; owner: { id: string }; viewerCan: { get: boolean; put: boolean; delete: boolean } } };
type Result = Omit<VariantResult, "rounds"> & { rounds: RemoteRoundSample[] };

interface ShapeReport {
  shape: string;
  pairs: { label: string; full: Result; bare: Result }[];
  perOperation: [string, PdpCount][];
}

const pdpCpu = (r: Result) => (r.rounds[0]?.pdpCpuMs === undefined ? undefined : median(r.rounds.map((x) => x.pdpCpuMs! / x.n)));

async function measureShape(shape: string, load: LoadClient, postgres: Awaited<ReturnType<typeof startPostgres>>, env: Record<string, string>, pdpPid?: number): Promise<ShapeReport> {
  const full = await startFullStack(postgres.pg, postgres.dataDir, `overhead_${shape}`, env);
  let stopBare: () => Promise<void> = () => Promise.resolve();
  try {
    const callerToken = await full.token("caller@bench.local");
    const caller = full.client(callerToken);
    const callerId = ((await ok(caller, `{ me { id } }`)).me as { id: string }).id;
    const others: string[] = [];
    for (let i = 0; i < OTHER_USERS; i++) {
      others.push(((await ok(full.client(await full.token(`other${i}@bench.local`)), `{ me { id } }`)).me as { id: string }).id);
    }
    await seedNotes(full, { total: NOTES, own: OWN, caller: callerId, others });

    // A small workspace through the API (facts delivered by the outbox), for the per-operation table.
    const memberToken = await full.token("member@bench.local");
    const member = full.client(memberToken);
    await ok(member, `{ me { id } }`);
    // Creating a workspace takes the premium plan (a user attribute set in Permit).
    await full.permit.api.users.update(callerId, { attributes: { plan: "premium" } });
    const ws = ((await ok(caller, `mutation { createWorkspace(input: { name: "bench" }) { id } }`)).createWorkspace as { id: string }).id;
    await ok(caller, `mutation($w: ID!) { shareWorkspace(workspaceId: $w, email: "member@bench.local", role: VIEWER) { role } }`, { w: ws });
    let wsNote = "";
    for (let i = 0; i < 5; i++) {
      wsNote = ((await ok(caller, `mutation($t: String!, $w: ID) { createNote(input: { title: $t, workspaceId: $w }) { id } }`, { t: `ws ${i}`, w: ws })).createNote as { id: string }).id;
    }
    const ownNote = ((await full.api.dataSource.query(`SELECT id FROM notes WHERE owner_id = $1 AND workspace_id IS NULL ORDER BY created_at DESC LIMIT 1`, [callerId])) as { id: string }[])[0]!.id;

    const bare = await startBareApi(full.api, full.config, createLogger("silent"));
    stopBare = bare.stop;

    // The answers are checked once per shape: same rows, and the full stack's decisions are the policy's.
    const fullPage = ((await ok(caller, LIST)).notes as { edges: Edge[] }).edges;
    const barePage = ((await ok(graphqlClient(bare.url, callerToken), LIST)).notes as { edges: Edge[] }).edges;
    if (fullPage.length !== 50 || barePage.length !== 50) throw new Error(`expected 50 edges, got ${fullPage.length} / ${barePage.length}`);
    if (fullPage.map((e) => e.node.id).join() !== barePage.map((e) => e.node.id).join()) throw new Error("full and bare pages differ");
    for (const e of fullPage) {
      const own = e.node.owner.id === callerId;
      if (!e.node.viewerCan.get || e.node.viewerCan.put !== own || e.node.viewerCan.delete !== own) {
        throw new Error(`unexpected viewerCan on ${e.node.id}: ${JSON.stringify(e.node.viewerCan)}`);
      }
    }

    const variant = (name: string, url: string, query: string, variables?: Record<string, unknown>): RemoteVariant => ({ name, url, token: callerToken, query, variables });
    const compare = async (a: RemoteVariant, b: RemoteVariant, perRound: number, roundBudgetMs: number, warmup: number) => {
      const [x, y] = await alternateRemote(load, [a, b], { rounds: ROUNDS, perRound, roundBudgetMs, warmup, totalBudgetMs: TOTAL_BUDGET_MS, ...(pdpPid === undefined ? {} : { pdpPid }) });
      return { full: x!, bare: y! };
    };
    const list = await compare(variant("list, full", full.api.url, LIST), variant("list, bare", bare.url, LIST), 300, 3000, WARMUP.list);
    const note = await compare(variant("note, full", full.api.url, NOTE, { id: ownNote }), variant("note, bare", bare.url, NOTE, { id: ownNote }), 1500, 2500, WARMUP.note);
    const me = await compare(variant("me, full", full.api.url, ME), variant("__typename, full", full.api.url, TYPENAME), 2000, 2500, WARMUP.me);

    // PDP calls and checks of one request, per operation (after the warm-up above, so no first-sight sync).
    const operations: [string, typeof caller, string, Record<string, unknown>?][] = [
      ["{ __typename }", caller, TYPENAME],
      ["me { id email roles }", caller, ME],
      ["note(id) + viewerCan { put delete }", caller, NOTE, { id: ownNote }],
      ["notes(first: 50) + owner + viewerCan (default policy)", caller, LIST],
      ["notes(first: 20) { id title }", caller, `{ notes(first: 20) { edges { node { id title } } } }`],
      ["notes(first: 100) + viewerCan", caller, `{ notes(first: 100) { edges { node { id viewerCan { get put delete } } } } }`],
      ["notes(workspaceId) as workspace viewer", member, `query($w: ID) { notes(first: 20, workspaceId: $w) { edges { node { id } } } }`, { w: ws }],
      ["note(id) in a workspace as its viewer", member, `query($id: ID!) { note(id: $id) { id viewerCan { get put delete } } }`, { id: wsNote }],
      ["workspace(id) + viewerCan", caller, `query($id: ID!) { workspace(id: $id) { name viewerCan { get put delete share addNote } } }`, { id: ws }],
      ["workspaces", caller, `{ workspaces { id } }`],
      ["updateNote", caller, `mutation($id: ID!) { updateNote(id: $id, input: { body: "x" }) { version } }`, { id: ownNote }],
      ["createNote (in workspace)", caller, `mutation($w: ID) { createNote(input: { title: "b", workspaceId: $w }) { id } }`, { w: ws }],
    ];
    const perOperation: [string, PdpCount][] = [];
    for (const [name, post, query, variables] of operations) perOperation.push([name, await full.pdp.of(() => ok(post, query, variables))]);
    return { shape, pairs: [{ label: "notes(first: 50) + owner + viewerCan", ...list }, { label: "note(id) + viewerCan { put delete }", ...note }, { label: "me { id email roles } / { __typename }", ...me }], perOperation };
  } finally {
    await stopBare();
    await full.api.stop();
  }
}

function printShape(report: ShapeReport): { list: number; note: number; me: number } {
  console.log(`
── shape: ${report.shape} ──`);
  console.log(`  ${"variant".padEnd(46)} ${"n".padStart(5)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"API CPU ms/req".padStart(15)} ${"PDP CPU ms/req".padStart(15)} ${"per API core/s".padStart(15)}`);
  for (const { label, full, bare } of report.pairs) {
    for (const [which, r] of [["full", full], [label.startsWith("me") ? "__typename" : "bare", bare]] as const) {
      const s = summarize(r);
      const api = s.cpuMsPerReq;
      const pdp = pdpCpu(r);
      console.log(
        `  ${`${label.split(" /")[0]!.slice(0, 36)}, ${which}`.padEnd(46)} ${String(s.requests).padStart(5)} ${s.reqPerSec.toFixed(0).padStart(7)} ${s.p50.toFixed(2).padStart(7)} ${percentile(r.latencies, 0.99).toFixed(2).padStart(7)} ${api.toFixed(3).padStart(15)} ${(pdp === undefined ? "in API" : pdp.toFixed(3)).padStart(15)} ${(1000 / api).toFixed(0).padStart(15)}`,
      );
    }
  }
  const ratio = (i: number) => summarize(report.pairs[i]!.full).reqPerSec / summarize(report.pairs[i]!.bare).reqPerSec;
  return { list: ratio(0), note: ratio(1), me: ratio(2) };
}

async function main(): Promise<void> {
  const started = performance.now();
  const postgres = await startPostgres();
  const load = startLoadClient();
  const sidecar = await startSidecarPdp(postgres.dataDir);
  try {
    const embedded = await measureShape("embedded", load, postgres, { LOCAL_PDP_DECISIONS: "in-process" });
    const production = await measureShape("sidecar", load, postgres, { PERMIT_API_KEY: sidecar.apiKey, PERMIT_PDP_URL: sidecar.url, PERMIT_API_URL: sidecar.url }, sidecar.pid);

    console.log(
      `
API overhead of authorization: full stack vs bare (same server without shield/PDP), ${ROUNDS} alternating rounds per pair, ` +
        `sequential requests over one keep-alive connection from a load client in its own process; ` +
        `${NOTES.toLocaleString("en-US")} personal notes seeded by SQL (caller owns ${OWN}). CPU: user + system of the API's process ` +
        `(with the PDP in the embedded shape) and of the sidecar PDP's process, per request, median of rounds; PostgreSQL excluded. ` +
        `"per API core/s": requests one core of the API's process serves at that CPU cost.`,
    );
    const rows: GoalRow[] = [];
    for (const report of [embedded, production]) {
      const r = printShape(report);
      const spread = (i: number) => {
        const x = roundRatios(report.pairs[i]!.full, report.pairs[i]!.bare, reqPerSec);
        return `(rounds ${x.min.toFixed(2)}–${x.max.toFixed(2)})`;
      };
      rows.push({ figure: `${report.shape}: list of 50 + viewerCan, full / bare req/s`, measured: `${r.list.toFixed(2)} ${spread(0)}`, goal: "≥ 0.75", met: r.list >= 0.75 });
      rows.push({ figure: `${report.shape}: note(id), full / bare req/s`, measured: `${r.note.toFixed(2)} ${spread(1)}`, goal: "≥ 0.8", met: r.note >= 0.8 });
      rows.push({ figure: `${report.shape}: me / __typename req/s`, measured: `${r.me.toFixed(2)} ${spread(2)}`, goal: "≥ 0.8", met: r.me >= 0.8 });
      const listCalls = report.perOperation.find(([name]) => name.startsWith("notes(first: 50)"))![1];
      rows.push({ figure: `${report.shape}: PDP calls per list page`, measured: `${decisionCalls(listCalls)} (${listCalls.checks} checks)`, goal: "1", met: decisionCalls(listCalls) === 1 });
    }
    printGoals("goals (ratio of median req/s; rounds: min–max of the per-round ratio)", rows);

    console.log(`
PDP work of one request, embedded shape (counted at the local PDP, function calls included; checks = decisions in its log)
`);
    console.log(`  ${"operation".padEnd(56)} ${"bulk".padStart(5)} ${"single".padStart(7)} ${"user-perm".padStart(10)} ${"REST".padStart(5)} ${"checks".padStart(7)}`);
    for (const [name, c] of embedded.perOperation) {
      console.log(`  ${name.padEnd(56)} ${String(c.bulk).padStart(5)} ${String(c.single).padStart(7)} ${String(c.userPermissions).padStart(10)} ${String(c.rest).padStart(5)} ${String(c.checks).padStart(7)}`);
    }
    console.log(`  (REST: the list planner re-reading the policy and the caller's assignments, once per LIST_PLAN_TTL_MS = ${LIST_PLAN_TTL_MS} ms; and fact writes)`);
    console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    load.stop();
    await sidecar.stop();
    await postgres.stop();
  }
}

runBench(main, 480_000);
