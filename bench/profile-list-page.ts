/**
 * Where a list page's CPU goes: a CPU profile (node:inspector, 200 µs sampling) of the API's
 * process while the forked load client sends list pages, summed by part of the stack (self
 * time, ms per page of the main thread's busy time). Not a benchmark (`npm run bench` does not
 * run it): the profiler's sampling adds to the CPU it measures, so its figures are shares.
 *
 *   npx tsx bench/profile-list-page.ts bare    (the API without authorization, bare-server.ts)
 *   npx tsx bench/profile-list-page.ts full    (npm start's stack, the PDP in-process)
 *   npx tsx bench/profile-list-page.ts sidecar (npm start's stack, the PDP in its own process)
 */
import "reflect-metadata";
import { Session } from "node:inspector/promises";
import type { Runtime } from "node:inspector";
import { createLogger } from "../src/common/logger";
import { ok, processCpuMs, seedNotes, startFullStack, startLoadClient, startPostgres, startSidecarPdp } from "./api-support";
import { startBareApi } from "./bare-server";

const LIST = `{ notes(first: 50) { edges { node { id title owner { id } viewerCan { get put delete } } } } }`;
const WARMUP_PAGES = 1000;
const PAGES = 1500;

/** The part of the stack a sampled function belongs to. */
function partOf(frame: Runtime.CallFrame): string | null {
  const { url, functionName: fn } = frame;
  if (fn === "(idle)") return null;
  if (fn === "(garbage collector)") return "garbage collection";
  if (fn === "(program)") return "V8 (program)";
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? "";
  // graphql-jit's compiled functions have no file.
  if (pkg === "graphql" || pkg === "graphql-jit" || (url === "" && /Handler|__context/.test(fn))) return "GraphQL execution (graphql, graphql-jit)";
  if (["type-graphql", "graphql-middleware", "graphql-shield"].includes(pkg)) return "type-graphql and shield wrappers";
  if (pkg.startsWith("@apollo/") || pkg === "@as-integrations/fastify" || pkg === "negotiator") return "Apollo Server pipeline";
  if (/^(fastify|find-my-way|avvio|@fastify\/.+|fast-json-stringify|secure-json-parse|fast-querystring|toad-cache)$/.test(pkg)) return "HTTP server and sockets";
  if (/^node:(_http_(server|common|incoming|outgoing)|net|events)$/.test(url) || url.startsWith("node:internal/streams") || url.includes("stream_base_commons") || ["writev", "writeBuffer", "writeUtf8String"].includes(fn)) {
    return "HTTP server and sockets";
  }
  if (/^(pg|pg-protocol|pg-pool|pg-types|typeorm|postgres-date|postgres-array|postgres-interval|postgres-bytea)$/.test(pkg)) return "PostgreSQL client (pg, TypeORM)";
  if (pkg === "dataloader") return "DataLoader";
  if (url.includes("/src/authz/")) return "src/authz (Authorizer, viewerCan, list filter)";
  if (url.includes("/packages/local-pdp/")) return "local PDP (evaluation, decision log)";
  if (pkg === "jose" || url.includes("/src/auth/")) return "token verification";
  if (pkg === "permitio") return "permitio SDK (check inputs, log lines)";
  if (pkg === "axios" || pkg === "follow-redirects" || url === "node:_http_client") return "decision transport (axios, node:http client)";
  if (url === "" && (fn === "stringify" || fn === "parse")) return "JSON";
  if (url.includes("/src/")) return "src, other (services, repositories, context, limits)";
  if (pkg === "") return "Node runtime (promises, timers, buffers, the profiler)";
  return `other packages`;
}

async function main(): Promise<void> {
  const target = process.argv[2] ?? "bare";
  if (target !== "bare" && target !== "full" && target !== "sidecar") throw new Error("usage: profile-list-page.ts bare|full|sidecar");
  const postgres = await startPostgres();
  const load = startLoadClient();
  const sidecar = target === "sidecar" ? await startSidecarPdp(postgres.dataDir) : null;
  const pdpEnv: Record<string, string> = sidecar ? { PERMIT_API_KEY: sidecar.apiKey, PERMIT_PDP_URL: sidecar.url, PERMIT_API_URL: sidecar.url } : { LOCAL_PDP_DECISIONS: "in-process" };
  const full = await startFullStack(postgres.pg, postgres.dataDir, "profile", pdpEnv);
  const bare = await startBareApi(full.api, full.config, createLogger("silent"));
  try {
    const token = await full.token("caller@bench.local");
    const caller = ((await ok(full.client(token), `{ me { id } }`)).me as { id: string }).id;
    const others: string[] = [];
    for (let i = 0; i < 5; i++) others.push(((await ok(full.client(await full.token(`other${i}@bench.local`)), `{ me { id } }`)).me as { id: string }).id);
    await seedNotes(full, { total: 1000, own: 50, caller, others });
    const url = target === "bare" ? bare.url : full.api.url;
    await load.run({ url, token, query: LIST, n: WARMUP_PAGES, budgetMs: 60_000 });

    const session = new Session();
    session.connect();
    await session.post("Profiler.enable");
    await session.post("Profiler.setSamplingInterval", { interval: 200 });
    const cpu0 = processCpuMs(process.pid);
    await session.post("Profiler.start");
    const run = await load.run({ url, token, query: LIST, n: PAGES, budgetMs: 60_000 });
    const { profile } = await session.post("Profiler.stop");
    const cpuMs = processCpuMs(process.pid) - cpu0;
    if (run.error) throw new Error(run.error);

    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const parts = new Map<string, number>();
    let busy = 0;
    profile.samples!.forEach((id, i) => {
      const part = partOf(nodes.get(id)!.callFrame);
      if (part === null) return;
      const us = profile.timeDeltas![i] ?? 0;
      busy += us;
      parts.set(part, (parts.get(part) ?? 0) + us);
    });
    const perPage = (us: number) => (us / 1000 / run.n).toFixed(2);
    console.log(`${target}: ${run.n} pages; API process CPU ${(cpuMs / run.n).toFixed(2)} ms/page under the profiler; main thread busy ${perPage(busy)} ms/page\n`);
    console.log(`| part | ms/page | share |\n|---|---|---|`);
    for (const [part, us] of [...parts].sort((a, b) => b[1] - a[1])) console.log(`| ${part} | ${perPage(us)} | ${((100 * us) / busy).toFixed(0)}% |`);
  } finally {
    load.stop();
    await bare.stop();
    await full.api.stop();
    await sidecar?.stop();
    await postgres.stop();
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
