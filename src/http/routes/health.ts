/**
 * `/healthz`: the process is up. `/readyz`: the database answers (503 otherwise), and whether
 * the PDP is reachable as the circuit breaker sees it. A PDP that is down does not make the
 * process unready: it answers AUTHZ_UNAVAILABLE fast, and another replica would fare no better.
 */
import type { FastifyInstance } from "fastify";

const PROBE_TIMEOUT_MS = 2000;

export interface HealthSources {
  database: { query(sql: string): Promise<unknown> };
  /** "up" unless the PDP circuit is open or probing. */
  pdp(): "up" | "down";
}

export function registerHealthRoutes(app: FastifyInstance, sources: HealthSources): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    const pdp = sources.pdp();
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        sources.database.query("SELECT 1"),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("database probe timed out")), PROBE_TIMEOUT_MS))),
      ]);
      return { status: "ready", database: "up", pdp };
    } catch {
      return reply.code(503).send({ status: "unavailable", database: "down", pdp });
    } finally {
      clearTimeout(timer);
    }
  });
}
