/** `/metrics`: Prometheus metrics of the process, the GraphQL requests and the facts outbox. */
import type { FastifyInstance } from "fastify";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface ApiMetrics {
  requests: Histogram<"status">;
  authzUnavailable: Counter;
}

export function registerMetrics(app: FastifyInstance, sources: { outboxPending(): Promise<number> }): ApiMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requests = new Histogram({
    name: "graphql_request_duration_seconds",
    help: "GraphQL HTTP requests by status",
    labelNames: ["status"],
    registers: [registry],
  });
  new Gauge({
    name: "permit_outbox_pending",
    help: "Facts recorded for the policy decision point and not yet acknowledged by it",
    registers: [registry],
    async collect() {
      this.set(await sources.outboxPending());
    },
  });
  const authzUnavailable = new Counter({
    name: "authz_unavailable_total",
    help: "Requests that failed closed because the policy decision point was unreachable",
    registers: [registry],
  });
  app.get("/metrics", async (_request, reply) => reply.type(registry.contentType).send(await registry.metrics()));
  return { requests, authzUnavailable };
}
