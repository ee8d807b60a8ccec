/**
 * What note bodies cost a list page: one full stack (`startApi` as `npm start` runs it, the local
 * PDP in-process) on embedded PostgreSQL, whose caller owns 2,000 notes: the newest 1,000 with
 * bodies of about 20 bytes, the older 1,000 with bodies of 4 KB. The same query, resumed by
 * cursor into one half or the other, lists 50 notes as titles or with bodies, in alternating
 * rounds. The load client runs in a process of its own, so the CPU measured in this process is
 * the API's alone.
 *
 * One stack for both sizes: with a stack per size in this process (and 300 warm-up pages), the
 * ratio followed the order the stacks started in, 1.28 one way and 0.93 the other (2026-12-07).
 *
 * A page that does not select `body` reads none (note.repository.ts `withBodies`): its cost
 * should not depend on how long the bodies are.
 *
 *   npm run bench -- list-bodies      (about 1 minute)
 */
import "reflect-metadata";
import {
  alternateRemote,
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
  summarize,
  type FullStack,
  type GoalRow,
  type Summary,
} from "./api-support";

/** Notes of each body size. */
const NOTES = 1_000;
const SMALL = 20;
const LARGE = 4096;
const ROUNDS = 8;
const PER_ROUND = 300;
const WARMUP = 300;

const TITLES = `query ($after: String) { notes(first: 50, after: $after) { edges { node { id title updatedAt } } } }`;
const BODIES = `query ($after: String) { notes(first: 50, after: $after) { edges { node { id title updatedAt body } } } }`;
const PAGE_END = `query ($after: String) { notes(first: 50, after: $after) { pageInfo { endCursor } } }`;

/**
 * The caller's 2,000 notes, newest first: 1,000 with SMALL-byte bodies, then 1,000 with
 * LARGE-byte ones. Answers a cursor into each half (after the first page of each), checked to
 * lead to 50 notes of that size.
 */
async function seed(stack: FullStack, token: string): Promise<Record<"small" | "large", string>> {
  const client = stack.client(token);
  const caller = ((await ok(client, `{ me { id } }`)).me as { id: string }).id;
  await seedNotes(stack, { total: 2 * NOTES, own: 2 * NOTES, caller, others: [caller] });
  // In the list's order (newest first).
  await stack.api.dataSource.query(
    `UPDATE notes SET body = rpad('', CASE WHEN r.rank <= $1 THEN $2::int ELSE $3::int END, 'lorem ipsum ')
       FROM (SELECT id, row_number() OVER (ORDER BY created_at DESC, id DESC) AS rank FROM notes) AS r WHERE r.id = notes.id`,
    [NOTES, SMALL, LARGE],
  );
  // The end of each page, as far as the first page of the second half.
  const cursors: string[] = [];
  for (let after: string | null = null; cursors.length <= NOTES / 50; ) {
    after = ((await ok(client, PAGE_END, { after })).notes as { pageInfo: { endCursor: string } }).pageInfo.endCursor;
    cursors.push(after);
  }
  const at = { small: cursors[0]!, large: cursors[NOTES / 50]! };
  for (const [half, bytes] of [["small", SMALL], ["large", LARGE]] as const) {
    const page = (await ok(client, BODIES, { after: at[half] })).notes as { edges: { node: { body: string } }[] };
    if (page.edges.length !== 50 || page.edges.some((e) => e.node.body.length !== bytes)) throw new Error(`expected 50 notes with ${bytes}-byte bodies after the ${half} cursor`);
  }
  return at;
}

async function main(): Promise<void> {
  const started = performance.now();
  const postgres = await startPostgres();
  const load = startLoadClient();
  let stack: FullStack | undefined;
  try {
    stack = await startFullStack(postgres.pg, postgres.dataDir, "bodies", { LOCAL_PDP_DECISIONS: "in-process" });
    const token = await stack.token("caller@bench.local");
    const after = await seed(stack, token);
    const variants = [
      { name: `notes(first: 50) { id title updatedAt }, ${SMALL}-byte bodies`, url: stack.api.url, token, query: TITLES, variables: { after: after.small } },
      { name: `notes(first: 50) { id title updatedAt body }, ${SMALL}-byte bodies`, url: stack.api.url, token, query: BODIES, variables: { after: after.small } },
      { name: `notes(first: 50) { id title updatedAt }, ${LARGE}-byte bodies`, url: stack.api.url, token, query: TITLES, variables: { after: after.large } },
      { name: `notes(first: 50) { id title updatedAt body }, ${LARGE}-byte bodies`, url: stack.api.url, token, query: BODIES, variables: { after: after.large } },
    ];
    const results = await alternateRemote(load, variants, { rounds: ROUNDS, perRound: PER_ROUND, roundBudgetMs: 5000, warmup: WARMUP, totalBudgetMs: 60_000 });
    // Medians of the rounds: req/s and API CPU per page.
    const summaries = results.map(summarize);

    console.log(
      `List pages by body length: ${NOTES.toLocaleString("en-US")} notes of each size in one database, ${ROUNDS} alternating rounds of ${PER_ROUND} sequential pages over one keep-alive connection from a load client in its own process; ` +
        `API CPU: user + system of this process (the API and its in-process PDP) per page, median of rounds; PostgreSQL excluded.\n`,
    );
    console.log(`  ${"variant".padEnd(58)} ${"n".padStart(5)} ${"req/s".padStart(7)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"API CPU ms/page".padStart(16)}`);
    results.forEach((r, i) => {
      const s = summaries[i]!;
      console.log(
        `  ${r.name.padEnd(58)} ${String(s.requests).padStart(5)} ${s.reqPerSec.toFixed(0).padStart(7)} ${s.p50.toFixed(2).padStart(7)} ${percentile(r.latencies, 0.99).toFixed(2).padStart(7)} ${s.cpuMsPerReq.toFixed(3).padStart(16)}`,
      );
    });
    const [smallTitles, smallBodies, largeTitles, largeBodies] = summaries as [Summary, Summary, Summary, Summary];
    const cpuRatio = largeTitles.cpuMsPerReq / smallTitles.cpuMsPerReq;
    const rateRatio = largeTitles.reqPerSec / smallTitles.reqPerSec;
    const [smallTitlesRounds, , largeTitlesRounds] = results;
    const rateRounds = roundRatios(largeTitlesRounds!, smallTitlesRounds!, reqPerSec);
    const rows: GoalRow[] = [
      { figure: "titles page, API CPU: 4 KB bodies / 20-byte bodies", measured: cpuRatio.toFixed(2), goal: "≤ 1.1", met: cpuRatio <= 1.1 },
      {
        figure: "titles page, req/s: 4 KB bodies / 20-byte bodies",
        measured: `${rateRatio.toFixed(2)} (rounds ${rateRounds.min.toFixed(2)}–${rateRounds.max.toFixed(2)})`,
        goal: "≥ 0.9",
        met: rateRatio >= 0.9,
      },
      {
        figure: "what selecting the bodies costs (API CPU), 4 KB bodies",
        measured: `${(largeBodies.cpuMsPerReq / largeTitles.cpuMsPerReq).toFixed(2)} × the titles page`,
        goal: "—",
        met: true,
      },
      {
        figure: "what selecting the bodies costs (API CPU), 20-byte bodies",
        measured: `${(smallBodies.cpuMsPerReq / smallTitles.cpuMsPerReq).toFixed(2)} × the titles page`,
        goal: "—",
        met: true,
      },
    ];
    printGoals("goals (medians of rounds)", rows);
    console.log(`\ntotal ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    load.stop();
    await stack?.api.stop();
    await postgres.stop();
  }
}

runBench(main, 10 * 60_000);
