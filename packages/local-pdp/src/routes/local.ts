/**
 * Local-only endpoints: health, request statistics (tests count PDP calls per GraphQL request
 * with them) and the decision log (the local audit log).
 */
import type { FastifyInstance, FastifyRequest } from "fastify";
import type { PdpContext } from "../context";
import { Query } from "../validate";

/** Request counts by "<METHOD> <route pattern>" since start or the last reset. */
export class RequestStats {
  private counts = new Map<string, number>();

  count(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  reset(): void {
    this.counts = new Map<string, number>();
  }
}

export function localRoutes(ctx: PdpContext, stats: RequestStats) {
  return async (app: FastifyInstance): Promise<void> => {
    app.get("/healthy", async () => ({ status: "ok" }));

    app.get("/local/stats", async () => ({ requests: stats.snapshot() }));
    app.post("/local/stats/reset", async (_req, reply) => {
      stats.reset();
      return reply.code(204).send();
    });

    /** GET /local/decisions?user=&action=&type=&key=&tenant=&allow=&since=&limit= (newest first). */
    app.get("/local/decisions", async (req: FastifyRequest<{ Querystring: unknown }>) => {
      const q = Query.of(req.query);
      const since = q.str("since");
      const decisions = ctx.decisions.query({
        user: q.str("user"),
        action: q.str("action"),
        type: q.str("type"),
        key: q.str("key"),
        tenant: q.str("tenant"),
        allow: q.bool("allow"),
        since: since === undefined ? undefined : q.int("since", 0, 0, Number.MAX_SAFE_INTEGER),
        // Larger limits are clamped: the log never holds more than its capacity anyway.
        limit: Math.min(q.int("limit", 100, 1, Number.MAX_SAFE_INTEGER), Math.max(1, ctx.decisions.capacity)),
      });
      return { last_seq: ctx.decisions.lastSeq(), capacity: ctx.decisions.capacity, decisions };
    });
  };
}
