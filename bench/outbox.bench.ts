/**
 * Outbox delivery throughput (facts/s) with a stuck fact present against none, in the same run:
 * what per-object order costs the facts that a refused one must not hold back.
 *
 * The real delivery (`FactDelivery`, the API's sink and fact writers, the permitio SDK over
 * HTTP) on an embedded PostgreSQL, writing to a local PDP through an HTTP relay that refuses
 * every write about one workspace (HTTP 422), as Permit refuses a fact it cannot take. Each
 * round records a backlog of BACKLOG independent facts (personal notes: one REST call each) and
 * times one drain of it, in three variants, alternating (order reversed every other round):
 *
 * - none: the backlog alone;
 * - one stuck: a workspace's creation refused until stuck (five refusals), with HELD_FEW facts
 *   of that workspace recorded behind it;
 * - one stuck, many held: the same with HELD_MANY facts behind it, which every selection of
 *   deliverable facts walks past.
 *
 *   npx tsx bench/outbox.bench.ts        (or: npm run bench -- outbox)
 */
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { createLogger } from "../src/common/logger";
import { createDataSource } from "../src/db/data-source";
import { FactDelivery, MAX_REJECTIONS } from "../src/outbox/delivery";
import { recordFacts, type Fact } from "../src/outbox/facts";
import { createPermitClient } from "../src/permit/client";
import { createFactSink } from "../src/permit/fact-sink";
import { PermitFacts } from "../src/permit/fact-writer";
import { startHttpRelay } from "../test/support/http-relay";
import { startPolicyPdp } from "../test/support/policy-pdp";
import { median, runBench, startPostgres } from "./api-support";

const BACKLOG = 1000;
const HELD_FEW = 10;
const HELD_MANY = 1000;
const ROUNDS = 6;
const TIME_BUDGET_MS = 150_000;
const OWNER = "00000000-0000-4000-8000-00000000b0b0";

interface Variant {
  name: string;
  /** Facts of the stuck fact's workspace recorded behind it; null: no stuck fact. */
  held: number | null;
  rates: number[];
}

async function record(ds: DataSource, facts: Fact[]): Promise<void> {
  for (let i = 0; i < facts.length; i += 500) await ds.transaction((m) => recordFacts(m, facts.slice(i, i + 500)));
}

async function main(): Promise<void> {
  const postgres = await startPostgres();
  await postgres.pg.createDatabase("outbox");
  const ds = createDataSource(postgres.pg.urlFor("outbox"));
  await ds.initialize();
  await ds.runMigrations();
  const apiKey = `bench_${randomUUID()}`;
  const { pdp } = await startPolicyPdp(apiKey);
  const relay = await startHttpRelay(new URL(pdp.url));
  const logger = createLogger("silent");
  const permit = createPermitClient({ apiKey, pdpUrl: pdp.url, apiUrl: relay.url, timeoutMs: 2000 }, logger);
  const delivery = new FactDelivery(ds, createFactSink(new PermitFacts({ permit, tenant: "default" })), logger);
  const pending = () => delivery.pending();

  /** One round of a variant: facts/s over the drain of the backlog. */
  async function round(variant: Variant): Promise<number> {
    await ds.query(`DELETE FROM permit_outbox`);
    if (variant.held !== null) {
      const refused = randomUUID();
      relay.answer = (r) => (r.url.includes(refused) || r.body.includes(refused) ? 422 : undefined);
      await record(ds, [{ kind: "workspace.created", workspaceId: refused, ownerId: OWNER }]);
      for (let i = 0; i < MAX_REJECTIONS; i++) await delivery.drain({ urgent: true });
      if ((await delivery.stuck()).get("workspace.created") !== 1) throw new Error("the refused fact is not stuck");
      await record(
        ds,
        Array.from({ length: variant.held }, () => ({ kind: "note.created" as const, noteId: randomUUID(), ownerId: OWNER, workspaceId: refused })),
      );
    }
    await record(
      ds,
      Array.from({ length: BACKLOG }, () => ({ kind: "note.created" as const, noteId: randomUUID(), ownerId: OWNER, workspaceId: null })),
    );
    const left = variant.held === null ? 0 : variant.held + 1;
    const started = performance.now();
    await delivery.drain();
    const ms = performance.now() - started;
    const still = await pending();
    if (still !== left) throw new Error(`${variant.name}: ${still} facts pending after the drain, expected ${left}`);
    return (BACKLOG * 1000) / ms;
  }

  const variants: Variant[] = [
    { name: "none", held: null, rates: [] },
    { name: `one stuck, ${HELD_FEW} facts held behind it`, held: HELD_FEW, rates: [] },
    { name: `one stuck, ${HELD_MANY.toLocaleString("en")} facts held behind it`, held: HELD_MANY, rates: [] },
  ];
  try {
    // Warm-up: connections, the SDK's scope lookup, the planner's caches.
    await round(variants[0]!);
    await round(variants[1]!);
    const started = performance.now();
    for (let r = 0; r < ROUNDS && performance.now() - started < TIME_BUDGET_MS; r++) {
      const order = r % 2 === 0 ? variants : [...variants].reverse();
      for (const v of order) v.rates.push(await round(v));
    }
    const base = median(variants[0]!.rates);
    console.log(`outbox delivery of a backlog of ${BACKLOG.toLocaleString("en")} independent facts (note.created, one REST call each), ${variants[0]!.rates.length} alternating rounds`);
    console.log(`  variant                                        facts/s med   (min–max)    ratio to none (rounds)`);
    for (const v of variants) {
      const ratios = v.rates.map((rate, i) => rate / variants[0]!.rates[i]!);
      const spread = `${Math.min(...v.rates).toFixed(0)}–${Math.max(...v.rates).toFixed(0)}`;
      const ratio = v === variants[0] ? "1.00" : `${(median(v.rates) / base).toFixed(2)} (${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`;
      console.log(`  ${v.name.padEnd(46)} ${median(v.rates).toFixed(0).padStart(11)}   ${spread.padEnd(11)}  ${ratio}`);
    }
  } finally {
    await relay.close();
    await pdp.close();
    await ds.destroy();
    await postgres.stop();
  }
}

runBench(main, 15 * 60_000);
