/** `/metrics`: the process's Prometheus registry (`common/metrics.ts`), plus the facts outbox read at scrape time. */
import type { FastifyInstance } from "fastify";
import { Gauge } from "prom-client";
import type { Metrics } from "../../common/metrics";
import { FACT_KINDS } from "../../outbox/facts";

export interface OutboxSources {
  outboxPending(): Promise<number>;
  /** Age in seconds of the oldest unacknowledged fact (0 when none). */
  outboxOldestAge(): Promise<number>;
  /** Stuck facts by kind (absent kinds: none). */
  outboxStuck(): Promise<Map<string, number>>;
}

export function registerMetrics(app: FastifyInstance, metrics: Metrics, sources: OutboxSources): void {
  const registers = [metrics.registry];
  new Gauge({
    name: "permit_outbox_pending",
    help: "Facts recorded for the policy decision point and not yet acknowledged by it",
    registers,
    async collect() {
      this.set(await sources.outboxPending().catch(() => Number.NaN));
    },
  });
  new Gauge({
    name: "permit_outbox_oldest_pending_age_seconds",
    help: "Age of the oldest fact not yet acknowledged by the policy decision point (0 when none)",
    registers,
    async collect() {
      this.set(await sources.outboxOldestAge().catch(() => Number.NaN));
    },
  });
  new Gauge({
    name: "permit_outbox_stuck",
    help: "Facts the policy decision point refused too often to be tried again (npm run permit -- outbox), by kind; each holds back the later facts of its objects",
    labelNames: ["kind"],
    registers,
    async collect() {
      const stuck = await sources.outboxStuck().catch(() => undefined);
      for (const kind of FACT_KINDS) this.set({ kind }, stuck ? (stuck.get(kind) ?? 0) : Number.NaN);
    },
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
}
