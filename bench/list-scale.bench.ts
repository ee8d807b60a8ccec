/**
 * Whether a `notes` page costs the same at 100,000 notes as at 1,000: two full stacks
 * (`startApi`, each with its own local PDP) on one embedded PostgreSQL, one database with 1,000
 * personal notes and one with 100,000 (seeded by SQL), the caller owning 50 of them in both,
 * measured in alternating rounds.
 *
 * 1. default policy (role `user` has `notes:get`, so the list plan is "every row"):
 *    `notes(first: 50)` with owner and viewerCan — p50 ratio and PDP calls per page;
 * 2. restrictive policy, applied at runtime through the Permit SDK: `user` loses `notes:get`
 *    and a condition-set rule gives `notes:get` on `own_notes` to `__autogen_user`, so the plan
 *    becomes "owner = caller": `notes(first: 20)` with and without `viewerCan { put delete }`,
 *    p50 ratio, PDP decision calls and checks per request; then every page to the end.
 *
 *   npm run bench -- list-scale      (about 2 minutes)
 */
import "reflect-metadata";
import {
  LIST_PLAN_TTL_MS,
  alternate,
  decisionCalls,
  ok,
  percentile,
  printGoals,
  printVariants,
  runBench,
  seedNotes,
  startFullStack,
  startPostgres,
  summarize,
  type FullStack,
  type GoalRow,
  type PdpCount,
  type Post,
  type VariantResult,
} from "./api-support";

const SIZES = [1_000, 100_000] as const;
const OWN = 50;
const OTHER_USERS = 10;
const ROUNDS = 8;
const TOTAL_BUDGET_MS = 60_000;
const MAX_PAGES = 20;

const DEFAULT_PAGE = `{ notes(first: 50) { edges { node { id title owner { id } viewerCan { get put delete } } } } }`;
const FIRST_20 = `query($after: String) { notes(first: 20, after: $after) { edges { node { id title owner { id } } } pageInfo { hasNextPage endCursor } } }`;
const FIRST_20_CAN = `query($after: String) { notes(first: 20, after: $after) { edges { node { id title owner { id } viewerCan { put delete } } } pageInfo { hasNextPage endCursor } } }`;

interface Page {
  edges: { node: { id: string; owner: { id: string }; viewerCan?: { put: boolean; delete: boolean } } }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

interface Setup {
  size: number;
  stack: FullStack;
  caller: Post;
  callerId: string;
}

async function setUp(stack: FullStack, size: number): Promise<Setup & { seedMs: number }> {
  const caller = stack.client(await stack.token("caller@bench.local"));
  const callerId = ((await ok(caller, `{ me { id } }`)).me as { id: string }).id;
  const others: string[] = [];
  // Signed in through the API once: recorded in the database and synced to the PDP.
  for (let i = 0; i < OTHER_USERS; i++) others.push(((await ok(stack.client(await stack.token(`other${i}@bench.local`)), `{ me { id } }`)).me as { id: string }).id);
  const t0 = performance.now();
  await seedNotes(stack, { total: size, own: OWN, caller: callerId, others });
  return { size, stack, caller, callerId, seedMs: performance.now() - t0 };
}

/** Restrictive policy: `user` reads only its own notes (through the `own_notes` set rule). */
async function restrict(stack: FullStack): Promise<void> {
  await stack.permit.api.roles.removePermissions("user", ["notes:get"]);
  await stack.permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:get", resource_set: "own_notes" });
}

async function page(s: Setup, query: string, after: string | null = null): Promise<Page> {
  return (await ok(s.caller, query, { after })).notes as Page;
}

/** A page under the restrictive policy: only the caller's notes, and as many as asked. */
function checkOwnPage(s: Setup, p: Page, expected: number, withCan: boolean): void {
  if (p.edges.length !== expected) throw new Error(`${s.size} notes: expected ${expected} edges, got ${p.edges.length}`);
  for (const e of p.edges) {
    if (e.node.owner.id !== s.callerId) throw new Error(`${s.size} notes: a note of ${e.node.owner.id} is listed to the caller`);
    if (withCan && !(e.node.viewerCan?.put && e.node.viewerCan.delete)) throw new Error(`${s.size} notes: the owner may not put/delete ${e.node.id}`);
  }
}

async function measure(setups: Setup[], label: string, query: string, verify: (s: Setup, p: Page) => void, perRound: number): Promise<VariantResult[]> {
  for (const s of setups) verify(s, await page(s, query));
  return alternate(
    setups.map((s) => ({
      name: `${label}, ${s.size.toLocaleString("en-US")} notes`,
      request: async () => {
        await ok(s.caller, query, { after: null });
      },
    })),
    { rounds: ROUNDS, perRound, roundBudgetMs: 4000, warmup: 20, totalBudgetMs: TOTAL_BUDGET_MS },
  );
}

/** PDP work of `n` requests, averaged (they should all be alike). */
async function pdpPerRequest(s: Setup, query: string, n = 10): Promise<PdpCount> {
  const c = await s.stack.pdp.of(async () => {
    for (let i = 0; i < n; i++) await ok(s.caller, query, { after: null });
  });
  return { bulk: c.bulk / n, single: c.single / n, userPermissions: c.userPermissions / n, rest: c.rest / n, checks: c.checks / n };
}

async function main(): Promise<void> {
  const started = performance.now();
  const postgres = await startPostgres();
  const stacks: FullStack[] = [];
  try {
    const setups: Setup[] = [];
    const seedTimes: string[] = [];
    for (const size of SIZES) {
      const stack = await startFullStack(postgres.pg, postgres.dataDir, `scale${size}`);
      stacks.push(stack);
      const s = await setUp(stack, size);
      setups.push(s);
      seedTimes.push(`${size.toLocaleString("en-US")} in ${(s.seedMs / 1000).toFixed(1)} s`);
    }
    const large = setups[1]!;

    // 1. Default policy.
    const defaultRounds = await measure(setups, "notes(first: 50) + owner + viewerCan, default", DEFAULT_PAGE, (s, p) => {
      if (p.edges.length !== 50) throw new Error(`${s.size} notes: expected 50 edges, got ${p.edges.length}`);
    }, 60);
    const defaultCalls = await pdpPerRequest(large, DEFAULT_PAGE);

    // 2. Restrictive policy, on both PDPs; the list plans see it once their cached policy expires.
    for (const s of setups) await restrict(s.stack);
    await new Promise((resolve) => setTimeout(resolve, LIST_PLAN_TTL_MS + 500));
    const first20 = await measure(setups, "notes(first: 20), restrictive", FIRST_20, (s, p) => checkOwnPage(s, p, 20, false), 150);
    const first20Calls = await Promise.all(setups.map((s) => pdpPerRequest(s, FIRST_20)));
    const first20Can = await measure(setups, "notes(first: 20) + viewerCan, restrictive", FIRST_20_CAN, (s, p) => checkOwnPage(s, p, 20, true), 150);
    const first20CanCalls = await Promise.all(setups.map((s) => pdpPerRequest(s, FIRST_20_CAN)));

    // Every page to the end: all 50 own notes, each once.
    const paging: { size: number; pages: number; count: PdpCount }[] = [];
    for (const s of setups) {
      let pages = 0;
      const seen = new Set<string>();
      const count = await s.stack.pdp.of(async () => {
        let after: string | null = null;
        for (; pages < MAX_PAGES; ) {
          const p = await page(s, FIRST_20, after);
          pages++;
          checkOwnPage(s, p, p.pageInfo.hasNextPage ? 20 : OWN % 20 || 20, false);
          p.edges.forEach((e) => seen.add(e.node.id));
          if (!p.pageInfo.hasNextPage) break;
          after = p.pageInfo.endCursor;
        }
      });
      if (seen.size !== OWN) throw new Error(`${s.size} notes: paging to the end listed ${seen.size} distinct notes, not ${OWN}`);
      paging.push({ size: s.size, pages, count });
    }

    // ─── report ─────────────────────────────────────────────────────────────────────────
    console.log(
      `\nList pages at scale: two full stacks (startApi, local PDP each) on one PostgreSQL, ${ROUNDS} alternating rounds; ` +
        `personal notes seeded by SQL (${seedTimes.join(", ")}), caller owns ${OWN}, other notes by ${OTHER_USERS} other users; ` +
        `LIST_PLAN_TTL_MS = ${LIST_PLAN_TTL_MS}.`,
    );
    const all = [defaultRounds, first20, first20Can].map((r) => r.map(summarize));
    printVariants("per variant (req/s: median of rounds; CPU ms/req: this process = both APIs + local PDPs + client, PostgreSQL excluded)", all.flat());
    /** p50 large / small over all requests, and the min–max of the same ratio per round. */
    const p50Ratio = (r: VariantResult[]) => {
      const [a, b] = r as [VariantResult, VariantResult];
      const byRound = (v: VariantResult) => {
        let offset = 0;
        return v.rounds.map((round) => percentile(v.latencies.slice(offset, (offset += round.n)), 0.5));
      };
      const ra = byRound(a);
      const ratios = byRound(b).map((x, i) => x / ra[i]!);
      const pa = percentile(a.latencies, 0.5);
      const pb = percentile(b.latencies, 0.5);
      return {
        value: pb / pa,
        text: `${(pb / pa).toFixed(2)} (${pb.toFixed(2)} / ${pa.toFixed(2)} ms; rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
      };
    };
    const calls = (c: PdpCount) => `${decisionCalls(c)} call, ${c.checks} checks`;
    const rDefault = p50Ratio(defaultRounds);
    const r20 = p50Ratio(first20);
    const r20Can = p50Ratio(first20Can);
    const goals: GoalRow[] = [
      { figure: "PDP calls per list page, default policy (100,000 notes)", measured: calls(defaultCalls), goal: "1", met: decisionCalls(defaultCalls) === 1 },
      { figure: "p50 of that page at 100,000 / at 1,000 notes, default policy", measured: rDefault.text, goal: "≤ 1.3", met: rDefault.value <= 1.3 },
      { figure: "restrictive, notes(first: 20): p50 100,000 / 1,000", measured: r20.text, goal: "≤ 1.3", met: r20.value <= 1.3 },
      {
        figure: "restrictive, notes(first: 20): PDP per request",
        measured: `1k: ${calls(first20Calls[0]!)}; 100k: ${calls(first20Calls[1]!)}`,
        goal: "1 call",
        met: first20Calls.every((c) => decisionCalls(c) === 1),
      },
      { figure: "restrictive, + viewerCan { put delete }: p50 100,000 / 1,000", measured: r20Can.text, goal: "≤ 1.3", met: r20Can.value <= 1.3 },
      {
        figure: "restrictive, + viewerCan: PDP per request",
        measured: `1k: ${calls(first20CanCalls[0]!)}; 100k: ${calls(first20CanCalls[1]!)}`,
        goal: "1 call",
        met: first20CanCalls.every((c) => decisionCalls(c) === 1),
      },
      ...paging.map((p) => ({
        figure: `restrictive, paging to the end at ${p.size.toLocaleString("en-US")} notes: PDP calls`,
        measured: `${decisionCalls(p.count)} calls, ${p.count.checks} checks, ${p.pages} pages`,
        goal: "≤ 3",
        met: decisionCalls(p.count) <= 3,
      })),
    ];
    printGoals("goals (p50 over all requests of all rounds; PDP counted at each local PDP)", goals);
    const rest = [defaultCalls, ...first20Calls, ...first20CanCalls].reduce((s, c) => s + c.rest, 0);
    console.log(`\nREST reads of the list planner during the PDP counts above (cache refreshes, LIST_PLAN_TTL_MS = ${LIST_PLAN_TTL_MS}): ${rest.toFixed(1)} per request in total`);
    console.log(`total ${((performance.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    for (const s of stacks.reverse()) await s.api.stop();
    await postgres.stop();
  }
}

runBench(main, 240_000);
