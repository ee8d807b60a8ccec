/**
 * The HTTP server: one Fastify instance serving the PDP and the API on the same base URL
 * (the paths never collide). Every request but /healthy needs `Authorization: Bearer <key>`.
 * Errors always leave as 4xx bodies Permit's clients understand; malformed JSON is a 422.
 */
import { timingSafeEqual } from "node:crypto";
import Fastify, { type FastifyError, type FastifyInstance } from "fastify";
import type { PdpContext } from "./context";
import { ApiError, invalid } from "./errors";
import { SCOPE } from "./model";
import { decisionRoutes } from "./routes/decisions";
import { factsRoutes } from "./routes/facts/index";
import { localRoutes, RequestStats } from "./routes/local";
import { schemaRoutes } from "./routes/schema/index";

export interface ServerLogger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

/** Large enough for a bulk of tuples or a 1,000-check bulk with attributes. */
const BODY_LIMIT = 64 * 1024 * 1024;

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** `stats`: the request counts `/local/stats` answers (in-process calls are counted there too). */
export function buildServer(ctx: PdpContext, apiKey: string, logger: ServerLogger, stats = new RequestStats()): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    // Instance ids ("<type>:<key>") and user keys travel in paths; Fastify's default cap is 100.
    routerOptions: { maxParamLength: 2048 },
    return503OnClosing: true,
    forceCloseConnections: true,
  });

  // JSON bodies, with an empty body (DELETE without payload) read as undefined and a parse
  // failure reported as a validation error instead of Fastify's generic 400.
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (_req, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") return done(null, undefined);
    try {
      // A "__proto__" key would become the prototype of the parsed object; drop such keys.
      done(null, text.includes('"__proto__"') ? JSON.parse(text, (k: string, v: unknown) => (k === "__proto__" ? undefined : v)) : JSON.parse(text));
    } catch (err) {
      done(invalid(["body"], `malformed JSON: ${(err as Error).message}`, "value_error.jsondecode"), undefined);
    }
  });

  app.addHook("onRequest", async (req) => {
    const route = req.routeOptions.url;
    // The local endpoints are not counted: a test reading the stats must not count itself.
    if (route === undefined || !(route === "/healthy" || route.startsWith("/local/"))) stats.count(`${req.method} ${route ?? "(unmatched)"}`);
    if (route === "/healthy") return;
    const header = req.headers.authorization;
    if (!header) throw new ApiError(401, "UNAUTHORIZED", "Missing Authorization header");
    const match = /^Bearer\s+(.+)$/i.exec(header);
    if (!match || !sameSecret(match[1].trim(), apiKey)) throw new ApiError(401, "UNAUTHORIZED", "Invalid PDP token");
  });

  app.setErrorHandler((err: FastifyError | ApiError, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(err.body());
    const status = typeof err.statusCode === "number" && err.statusCode >= 400 && err.statusCode < 500 ? err.statusCode : 500;
    if (status === 500) {
      logger.error({ err, method: req.method, url: req.url }, "local PDP: unexpected error");
      return reply.code(500).send(new ApiError(500, "INVALID_INPUT", "internal error in the local PDP").body());
    }
    // Fastify's own 4xx (body too large, unsupported media type, ...).
    return reply.code(status).send(new ApiError(status, "INVALID_INPUT", err.message).body());
  });

  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError(404, "NOT_FOUND", `no route ${req.method} ${req.url.split("?")[0]}`).body());
  });

  app.get("/v2/api-key/scope", async () => ({ ...SCOPE }));
  app.register(localRoutes(ctx, stats));
  app.register(decisionRoutes(ctx));
  app.register(factsRoutes(ctx), { prefix: "/v2/facts/:proj/:env" });
  app.register(schemaRoutes(ctx), { prefix: "/v2/schema/:proj/:env" });
  return app;
}
