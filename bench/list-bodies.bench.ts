/**
 * What note bodies cost a list page: two full stacks (`startApi` as `npm start` runs it, the
 * local PDP in-process) on one embedded PostgreSQL, one database whose 1,000 notes have bodies of
 * about 20 bytes and one whose notes have bodies of 4 KB, each listed as titles and with bodies,
 * in alternating rounds. The load client runs in a process of its own, so the CPU measured in
 * this process is the APIs' alone (one of them busy at a time).
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

const NOTES = 1_000;
const BODY_SIZES = [20, 4096] as const;
const ROUNDS = 8;
const PER_ROUND = 300;
const WARMUP = 300;

const TITLES = `{ notes(first: 50) { edges { node { id title updatedAt } } } }`;
const BODIES = `{ notes(first: 50) { edges { node { id title updatedAt body } } } }`;

async function setUp(stack: FullStack, bodyBytes: number): Promise<string> {
  const token = await stack.token("caller@bench.local");
  const caller = ((await ok(stack.client(token), `{ me { id } }`)).me as { id: string }).id;
  await seedNotes(stack, { total: NOTES, own: NOTES, caller, others: [caller] });
  await stack.api.dataSource.query(`UPDATE notes SET body = rpad('', $1::int, 'lorem ipsum ')`, [bodyBytes]);
  const page = (await ok(stack.client(token), BODIES)).notes as { edges: { node: { body: string } }[] };
  if (page.edges.length !== 50 || page.edges.some((e) => e.node.body.length !== bodyBytes)) throw new Error(`expected 50 notes with ${bodyBytes}-byte bodies`);
  return token;
}

async function main(): Promise<void> {
  const started = performance.now();
  const postgres = await startPostgres();
  const load = startLoadClient();
  const stacks: FullStack[] = [];
  try {
    const variants = [];
    for (const size of BODY_SIZES) {
      const stack = await startFullStack(postgres.pg, postgres.dataDir, `bodies${size}`, { LOCAL_PDP_DECISIONS: "in-process" });
      stacks.push(stack);
      const token = await setUp(stack, size);
      variants.push({ name: `notes(first: 50) { id title updatedAt }, ${size}-byte bodies`, url: stack.api.url, token, query: TITLES });
      variants.push({ name: `notes(first: 50) { id title updatedAt body }, ${size}-byte bodies`, url: stack.api.url, token, query: BODIES });
    }
    const results = await alternateRemote(load, variants, { rounds: ROUNDS, perRound: PER_ROUND, roundBudgetMs: 5000, warmup: WARMUP, totalBudgetMs: 60_000 });
    // Medians of the rounds: req/s and API CPU per page.
    const summaries = results.map(summarize);

    console.log(
      `List pages by body length: ${NOTES.toLocaleString("en-US")} notes per database, ${ROUNDS} alternating rounds of ${PER_ROUND} sequential pages over one keep-alive connection from a load client in its own process; ` +
        `API CPU: user + system of this process (the APIs and their in-process PDPs) per page, median of rounds; PostgreSQL excluded.\n`,
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
    for (const s of stacks) await s.api.stop();
    await postgres.stop();
  }
}

runBench(main, 10 * 60_000);
