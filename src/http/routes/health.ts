/** `/healthz`: the process is up. `/readyz`: the database answers (503 otherwise). */
import type { FastifyInstance } from "fastify";

export function registerHealthRoutes(app: FastifyInstance, database: { query(sql: string): Promise<unknown> }): void {
  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    try {
      await database.query("SELECT 1");
      return { status: "ready" };
    } catch {
      return reply.code(503).send({ status: "unavailable", reason: "database unreachable" });
    }
  });
}
