/**
 * Live note events at scale on one replica: 1,000 subscriptions (10 users × 10 connections ×
 * 10 subscriptions, within the default limits) and a stream of note updates written over HTTP.
 *
 * Reports, from the same run:
 * - PDP calls per event: the hub's bulk calls (cross-checked at the local PDP: its bulk calls
 *   minus the one each updateNote costs for its own rule); the goal is 1 per event or fewer;
 * - delivery latency from commit to client (the event's `at`, stamped just before the commit,
 *   to its arrival at the client), p50/p99, sequential and under load;
 * - events/s: updates committed and delivered to all 1,000 subscriptions, under load;
 * - memory per connection: the API's heap growth per WebSocket connection once all are open,
 *   after a warm-up round of the same connections (so that compiling the code paths once is not
 *   counted per connection; the clients run in a worker thread, whose heap is not the API's).
 *
 * Loopback only; every phase is bounded by a count and a time budget.
 */
import v8 from "node:v8";
import vm from "node:vm";
import { Worker } from "node:worker_threads";
import { decisionCalls, graphqlClient, ok, startFullStack, startPostgres } from "./api-support";

v8.setFlagsFromString("--expose-gc");
const gc = vm.runInNewContext("gc") as () => void;

const USERS = 10;
const CONNECTIONS_PER_USER = 10;
const SUBSCRIPTIONS_PER_CONNECTION = 10;
const SUBSCRIPTIONS = USERS * CONNECTIONS_PER_USER * SUBSCRIPTIONS_PER_CONNECTION;
const SEQUENTIAL_EVENTS = 100;
const LOADED_EVENTS = 400;
const LOAD_CONCURRENCY = 8;
const PHASE_BUDGET_MS = 60_000;

const NOTE_EVENTS = `subscription { noteEvents { kind noteId version at note { id title version } } }`;
const UPDATE = `mutation($id: ID!, $title: String!) { updateNote(id: $id, input: { title: $title }) { version } }`;

// The clients: graphql-ws over ws, in a worker thread so that the API's heap is measured alone.
const CLIENTS = `
const { parentPort, workerData } = require("node:worker_threads");
const { createClient } = require("graphql-ws");
const WebSocket = require("ws");
const { url, tokens, connectionsPerUser, subscriptionsPerConnection, query } = workerData;
const clients = [];
let latencies = [];
let received = 0;
let errors = 0;
for (const token of tokens) {
  for (let c = 0; c < connectionsPerUser; c++) {
    const client = createClient({ url, webSocketImpl: WebSocket, lazy: false, retryAttempts: 0, connectionParams: { authorization: "Bearer " + token } });
    clients.push(client);
    for (let s = 0; s < subscriptionsPerConnection; s++) {
      client.subscribe({ query }, {
        next: (result) => {
          if (!result.data) { errors++; return; }
          latencies.push(Date.now() - Date.parse(result.data.noteEvents.at));
          received++;
        },
        error: () => errors++,
        complete: () => undefined,
      });
    }
  }
}
parentPort.on("message", async (message) => {
  if (message === "take") {
    parentPort.postMessage({ received, errors, latencies });
    latencies = [];
  } else if (message === "close") {
    await Promise.all(clients.map((c) => c.dispose()));
    parentPort.postMessage({ closed: true });
  }
});
`;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  const postgres = await startPostgres();
  const stack = await startFullStack(postgres.pg, postgres.dataDir, "subscriptions");
  const { api } = stack;
  try {
    const tokens: string[] = [];
    for (let i = 0; i < USERS; i++) {
      const token = await stack.token(`live${i}@example.com`);
      await ok(stack.client(token), `{ me { id } }`);
      tokens.push(token);
    }
    const writer = graphqlClient(api.url, tokens[0]!);
    const notes: string[] = [];
    for (let i = 0; i < 20; i++) notes.push(((await ok(writer, `mutation { createNote(input: { title: "n${i}" }) { id } }`)).createNote as { id: string }).id);

    const openClients = async () => {
      const worker = new Worker(CLIENTS, {
        eval: true,
        workerData: { url: `${api.url.replace(/^http/, "ws")}/graphql`, tokens, connectionsPerUser: CONNECTIONS_PER_USER, subscriptionsPerConnection: SUBSCRIPTIONS_PER_CONNECTION, query: NOTE_EVENTS },
      });
      const deadline = Date.now() + PHASE_BUDGET_MS;
      while (api.noteEvents.subscriberCount < SUBSCRIPTIONS && Date.now() < deadline) await sleep(50);
      if (api.noteEvents.subscriberCount < SUBSCRIPTIONS) throw new Error(`only ${api.noteEvents.subscriberCount} subscriptions opened`);
      return worker;
    };
    // Warm-up: the code paths of a connection are compiled once per process, not per connection.
    await (await openClients()).terminate();
    while (api.noteEvents.subscriberCount > 0) await sleep(50);
    await sleep(500);

    gc();
    const heapBefore = process.memoryUsage().heapUsed;
    const worker = await openClients();
    const ask = <T>(message: string) =>
      new Promise<T>((resolve) => {
        worker.once("message", resolve);
        worker.postMessage(message);
      });
    gc();
    const heapPerConnection = (process.memoryUsage().heapUsed - heapBefore) / (USERS * CONNECTIONS_PER_USER);

    type Taken = { received: number; errors: number; latencies: number[] };
    let delivered = 0;
    const waitForDeliveries = async (expected: number, until: number) => {
      const latencies: number[] = [];
      for (;;) {
        const taken = await ask<Taken>("take");
        for (const latency of taken.latencies) latencies.push(latency);
        delivered = taken.received;
        if (taken.errors > 0) throw new Error(`${taken.errors} errors on the streams`);
        if (delivered >= expected || Date.now() > until) return latencies;
        await sleep(20);
      }
    };

    /** One phase: `events` updates at `concurrency`, then every delivery awaited. */
    const phase = async (events: number, concurrency: number) => {
      const hubBefore = { ...api.noteEvents.stats };
      const counting = await stack.pdp.start();
      const expected = delivered + events * SUBSCRIPTIONS;
      const started = performance.now();
      const until = Date.now() + PHASE_BUDGET_MS;
      let next = 0;
      let latencies: number[] = [];
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          // One keep-alive connection per writer.
          const lane = graphqlClient(api.url, tokens[0]!);
          while (next < events && Date.now() < until) {
            const i = next++;
            await ok(lane, UPDATE, { id: notes[i % notes.length], title: `t${i}` });
            // Sequential: each event is delivered to everyone before the next is written.
            if (concurrency === 1) latencies = latencies.concat(await waitForDeliveries(delivered + SUBSCRIPTIONS, until));
          }
        }),
      );
      latencies = latencies.concat(await waitForDeliveries(expected, until));
      const seconds = (performance.now() - started) / 1000;
      const pdp = await counting.stop();
      const hubCalls = api.noteEvents.stats.pdpCalls - hubBefore.pdpCalls;
      const changes = api.noteEvents.stats.changes - hubBefore.changes;
      if (delivered < expected) throw new Error(`delivered ${delivered} of ${expected}`);
      latencies.sort((a, b) => a - b);
      return {
        events,
        hubCallsPerEvent: hubCalls / changes,
        // Each updateNote decides its own rule in one bulk call; what is left is the events'.
        pdpCallsPerEvent: (decisionCalls(pdp) - events) / events,
        checksPerEvent: (api.noteEvents.stats.checks - hubBefore.checks) / changes,
        p50: percentile(latencies, 50),
        p99: percentile(latencies, 99),
        eventsPerSecond: events / seconds,
        deliveriesPerSecond: (events * SUBSCRIPTIONS) / seconds,
      };
    };

    const sequential = await phase(SEQUENTIAL_EVENTS, 1);
    const loaded = await phase(LOADED_EVENTS, LOAD_CONCURRENCY);
    await ask("close");
    await worker.terminate();

    const row = (name: string, r: typeof sequential) =>
      `${name.padEnd(34)} ${String(r.events).padStart(6)} ${r.pdpCallsPerEvent.toFixed(2).padStart(9)} ${r.hubCallsPerEvent.toFixed(2).padStart(9)} ${r.checksPerEvent.toFixed(0).padStart(8)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${r.eventsPerSecond.toFixed(0).padStart(9)} ${r.deliveriesPerSecond.toFixed(0).padStart(12)}`;
    console.log(`Live note events: ${SUBSCRIPTIONS} subscriptions (${USERS} users × ${CONNECTIONS_PER_USER} connections × ${SUBSCRIPTIONS_PER_CONNECTION}) on one replica, local PDP, loopback\n`);
    console.log(`${"phase".padEnd(34)} ${"events".padStart(6)} ${"PDP/evt".padStart(9)} ${"hub/evt".padStart(9)} ${"checks".padStart(8)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"events/s".padStart(9)} ${"deliveries/s".padStart(12)}`);
    console.log(row("sequential (one update at a time)", sequential));
    console.log(row(`loaded (${LOAD_CONCURRENCY} concurrent writers)`, loaded));
    console.log(`\nAPI heap per WebSocket connection (${SUBSCRIPTIONS_PER_CONNECTION} subscriptions each): ${(heapPerConnection / 1024).toFixed(1)} KiB`);
    if (sequential.hubCallsPerEvent > 1 || loaded.hubCallsPerEvent > 1) throw new Error("more than one PDP call per event");
  } finally {
    await api.stop();
    await postgres.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
