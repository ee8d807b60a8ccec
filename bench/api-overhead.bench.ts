/**
 * What authorization costs the API: the full stack (`startApi`, exactly what `npm start` runs:
 * shield rules, Authorizer → permitio → local PDP, list plans) against a bare build of the same
 * API without authorization (bench/bare-server.ts), on the same database, in alternating
 * rounds. Also `me` (roles read from the PDP) against `{ __typename }` on the full stack, and
 * the PDP calls and checks of one request per operation, counted at the local PDP.
 *
 *   npm run bench -- api-overhead      (about 2 minutes)
 */
import "reflect-metadata";
import { createLogger } from "../src/common/logger";
import {
  alternate,
  decisionCalls,
  graphqlClient,
  LIST_PLAN_TTL_MS,
  ok,
  printGoals,
  printVariants,
  roundRatios,
  reqPerSec,
  runBench,
  seedNotes,
  startFullStack,
  startPostgres,
  summarize,
  type GoalRow,
  type PdpCount,
  type Post,
  type Variant,
} from "./api-support";
import { startBareApi } from "./bare-server";

const NOTES = 1_000;
const OWN = 50;
const OTHER_USERS = 9;
const ROUNDS = 8;
const TOTAL_BUDGET_MS = 60_000;

const LIST = `{ notes(first: 50) { edges { node { id title owner { id } viewerCan { get put delete } } } } }`;
const NOTE = `query($id: ID!) { note(id: $id) { id title viewerCan { put delete } } }`;
const ME = `{ me { id email roles } }`;
const TYPENAME = `{ __typename }`;

type Edge = { node: { id: string; owner: { id: string }; viewerCan: { get: boolean; put: boolean; delete: boolean } } };

async function main(): Promise<void> {
  const started = performance.now();
  const postgres = await startPostgres();
  const full = await startFullStack(postgres.pg, postgres.dataDir, "overhead");
  let stopBare: () => Promise<void> = () => Promise.resolve();
  try {
    const callerToken = await full.token("caller@bench.local");
    const caller = full.client(callerToken);
    const callerId = ((await ok(caller, `{ me { id } }`)).me as { id: string }).id;
    const others: string[] = [];
    for (let i = 0; i < OTHER_USERS; i++) {
      others.push(((await ok(full.client(await full.token(`other${i}@bench.local`)), `{ me { id } }`)).me as { id: string }).id);
    }
    const seedStart = performance.now();
    await seedNotes(full, { total: NOTES, own: OWN, caller: callerId, others });
    const seedMs = performance.now() - seedStart;

    // A small workspace through the API (facts delivered by the outbox), for the per-operation table.
    const member = full.client(await full.token("member@bench.local"));
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
    const bareCaller: Post = graphqlClient(bare.url, callerToken);

    // The answers are checked once per variant: same rows, and the full stack's decisions are the policy's.
    const fullPage = ((await ok(caller, LIST)).notes as { edges: Edge[] }).edges;
    const barePage = ((await ok(bareCaller, LIST)).notes as { edges: Edge[] }).edges;
    if (fullPage.length !== 50 || barePage.length !== 50) throw new Error(`expected 50 edges, got ${fullPage.length} / ${barePage.length}`);
    if (fullPage.map((e) => e.node.id).join() !== barePage.map((e) => e.node.id).join()) throw new Error("full and bare pages differ");
    for (const e of fullPage) {
      const own = e.node.owner.id === callerId;
      if (!e.node.viewerCan.get || e.node.viewerCan.put !== own || e.node.viewerCan.delete !== own) {
        throw new Error(`unexpected viewerCan on ${e.node.id}: ${JSON.stringify(e.node.viewerCan)}`);
      }
    }
    const fullNote = (await ok(caller, NOTE, { id: ownNote })).note as { viewerCan: { put: boolean; delete: boolean } };
    if (!fullNote.viewerCan.put || !fullNote.viewerCan.delete) throw new Error("the owner may not put/delete their own note");

    const expect = (post: Post, query: string, variables?: Record<string, unknown>) => async () => {
      await ok(post, query, variables);
    };
    const compare = async (a: Variant, b: Variant, perRound: number, roundBudgetMs: number) => {
      const results = await alternate([a, b], { rounds: ROUNDS, perRound, roundBudgetMs, warmup: Math.min(30, perRound), totalBudgetMs: TOTAL_BUDGET_MS });
      return { a: results[0]!, b: results[1]!, sa: summarize(results[0]!), sb: summarize(results[1]!) };
    };

    const list = await compare({ name: "notes(first: 50) + owner + viewerCan, full", request: expect(caller, LIST) }, { name: "notes(first: 50) + owner + viewerCan, bare", request: expect(bareCaller, LIST) }, 200, 4000);
    const note = await compare(
      { name: "note(id) + viewerCan { put delete }, full", request: expect(caller, NOTE, { id: ownNote }) },
      { name: "note(id) + viewerCan { put delete }, bare", request: expect(bareCaller, NOTE, { id: ownNote }) },
      1000,
      3000,
    );
    const me = await compare({ name: "me { id email roles }, full", request: expect(caller, ME) }, { name: "{ __typename }, full", request: expect(caller, TYPENAME) }, 1500, 3000);

    // PDP calls and checks of one request, per operation (after the warm-up above, so no first-sight sync).
    const operations: [string, Post, string, Record<string, unknown>?][] = [
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
    for (const [name, post, query, variables] of operations) {
      perOperation.push([name, await full.pdp.of(() => ok(post, query, variables))]);
    }

    // ─── report ─────────────────────────────────────────────────────────────────────────
    console.log(
      `\nAPI overhead of authorization: full stack (startApi) vs bare (same server without shield/PDP), ` +
        `${ROUNDS} alternating rounds, sequential requests over one keep-alive connection on 127.0.0.1; ` +
        `${NOTES.toLocaleString("en-US")} personal notes seeded by SQL in ${(seedMs / 1000).toFixed(1)} s (caller owns ${OWN}).`,
    );
    printVariants("per variant (req/s: median of rounds; CPU ms/req: this process = API + local PDP + client, PostgreSQL excluded)", [list.sa, list.sb, note.sa, note.sb, me.sa, me.sb]);
    const ratio = (x: { a: typeof list.a; b: typeof list.a; sa: typeof list.sa; sb: typeof list.sa }) => {
      const spread = roundRatios(x.a, x.b, reqPerSec);
      return { value: x.sa.reqPerSec / x.sb.reqPerSec, text: `${(x.sa.reqPerSec / x.sb.reqPerSec).toFixed(2)} (rounds ${spread.min.toFixed(2)}–${spread.max.toFixed(2)})` };
    };
    const rList = ratio(list);
    const rNote = ratio(note);
    const rMe = ratio(me);

    console.log(`\nPDP work of one request (counted at the local PDP; checks = decisions in its log)\n`);
    console.log(`  ${"operation".padEnd(56)} ${"bulk".padStart(5)} ${"single".padStart(7)} ${"user-perm".padStart(10)} ${"REST".padStart(5)} ${"checks".padStart(7)}`);
    for (const [name, c] of perOperation) {
      console.log(`  ${name.padEnd(56)} ${String(c.bulk).padStart(5)} ${String(c.single).padStart(7)} ${String(c.userPermissions).padStart(10)} ${String(c.rest).padStart(5)} ${String(c.checks).padStart(7)}`);
    }
    console.log(`  (REST: the list planner re-reading the policy and the caller's assignments, once per LIST_PLAN_TTL_MS = ${LIST_PLAN_TTL_MS} ms; and fact writes)`);
    const listCalls = perOperation.find(([name]) => name.startsWith("notes(first: 50)"))![1];

    const goals: GoalRow[] = [
      { figure: "notes(first: 50){…owner viewerCan} req/s, full / bare", measured: rList.text, goal: "≥ 0.75", met: rList.value >= 0.75 },
      { figure: "note(id){… viewerCan{put delete}} req/s, full / bare", measured: rNote.text, goal: "≥ 0.8", met: rNote.value >= 0.8 },
      { figure: "me{id email roles} / {__typename}, full stack", measured: rMe.text, goal: "≥ 0.8", met: rMe.value >= 0.8 },
      {
        figure: "PDP calls per list page, default policy",
        measured: `${decisionCalls(listCalls)} (${listCalls.checks} checks)`,
        goal: "1",
        met: decisionCalls(listCalls) === 1,
      },
    ];
    printGoals("goals (ratio: of median req/s; rounds: min–max of the per-round ratio)", goals);
    const cpu = (x: typeof list) => `${(x.sa.cpuMsPerReq - x.sb.cpuMsPerReq).toFixed(2)} ms`;
    console.log(`\nCPU per request that authorization adds (full − bare, this process): list page ${cpu(list)}, note(id) ${cpu(note)}; me − __typename ${cpu(me)}`);
    console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    await stopBare();
    await full.api.stop();
    await postgres.stop();
  }
}

runBench(main, 240_000);
