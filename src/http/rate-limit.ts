/**
 * Rate limits on /graphql with @fastify/rate-limit: points per minute per user, and per IP for
 * requests without a valid session.
 *
 * Cost-weighted: a request is admitted when its user (or IP) has points left, which costs 1
 * point; once the operation is resolved its cost, as the complexity limit computes it
 * (`graphql-limits.ts`), adds `cost / 100` more. So an operation costs `1 + cost / 100` in
 * all, and one expensive list page counts more than `me`. Callers without a session count in
 * requests (they can only get UNAUTHENTICATED back). The counters live in this process
 * (no shared store): with N replicas behind a balancer a user gets up to N× the limit.
 */
import rateLimit from "@fastify/rate-limit";
import type { FastifyInstance, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from "fastify";
import { ErrorCode } from "../common/errors";
import type { Metrics } from "../common/metrics";

export interface RateLimitSettings {
  /** Points per user per minute; 0 = no limit for authenticated callers. */
  perUser: number;
  /** Requests per IP per minute without a session; 0 = no limit for them. */
  perAnonymousIp: number;
  /** The caller's user id when the request carries a valid session, else null (memoized per request). */
  userOf(request: FastifyRequest): Promise<string | null>;
  metrics?: Pick<Metrics, "rateLimited">;
  windowMs?: number;
}

export interface RateLimiter {
  /** The preHandler of the limited route. */
  hook: preHandlerAsyncHookHandler;
  /** Adds the operation's cost to the counter of the request's caller. */
  charge(request: FastifyRequest, cost: number): void;
  /** Turns a refusal into a GraphQL-shaped 429; false for any other error. */
  handle(error: unknown, reply: FastifyReply): boolean;
}

interface Window {
  points: number;
  startedAt: number;
}

type Callback = (error: Error | null, result: { current: number; ttl: number }) => void;

/** Fixed one-minute windows of (fractional) points per key, bounded in size. */
class PointsStore {
  private readonly windows = new Map<string, Window>();
  constructor(private readonly maxKeys = 100_000) {}

  incr(key: string, callback: Callback, timeWindow: number): void {
    const window = this.live(key, timeWindow) ?? this.open(key, timeWindow);
    window.points += 1;
    callback(null, { current: window.points, ttl: window.startedAt + timeWindow - Date.now() });
  }

  read(key: string, callback: Callback, timeWindow: number): void {
    const window = this.live(key, timeWindow);
    callback(null, window ? { current: window.points, ttl: window.startedAt + timeWindow - Date.now() } : { current: 0, ttl: 0 });
  }

  child(): PointsStore {
    return this;
  }

  charge(key: string, points: number, timeWindow: number): void {
    const window = this.live(key, timeWindow);
    if (window) window.points += points;
  }

  private live(key: string, timeWindow: number): Window | undefined {
    const window = this.windows.get(key);
    return window && window.startedAt + timeWindow > Date.now() ? window : undefined;
  }

  private open(key: string, timeWindow: number): Window {
    this.windows.delete(key);
    if (this.windows.size >= this.maxKeys) {
      const now = Date.now();
      for (const [k, w] of this.windows) if (w.startedAt + timeWindow <= now) this.windows.delete(k);
      // Still full: the oldest windows go (Map order is the order they were opened).
      for (const k of this.windows.keys()) {
        if (this.windows.size < this.maxKeys) break;
        this.windows.delete(k);
      }
    }
    const window = { points: 0, startedAt: Date.now() };
    this.windows.set(key, window);
    return window;
  }
}

class RateLimitedError extends Error {
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number) {
    super(`Too many requests; retry in ${retryAfterSeconds} s.`);
    this.name = "RateLimitedError";
  }
}

export async function registerRateLimit(app: FastifyInstance, settings: RateLimitSettings): Promise<RateLimiter> {
  const windowMs = settings.windowMs ?? 60_000;
  const store = new PointsStore();
  const keys = new WeakMap<FastifyRequest, string>();
  const keyOf = async (request: FastifyRequest): Promise<string> => {
    let key = keys.get(request);
    if (key === undefined) {
      const userId = await settings.userOf(request).catch(() => null);
      key = userId ? `user:${userId}` : `ip:${request.ip}`;
      keys.set(request, key);
    }
    return key;
  };
  const limitOf = (key: string) => (key.startsWith("user:") ? settings.perUser : settings.perAnonymousIp);

  await app.register(rateLimit, {
    global: false,
    timeWindow: windowMs,
    // The plugin builds its store with `new`; this one is shared so that `charge` reaches it.
    store: function SharedStore() {
      return store;
    } as unknown as never,
    keyGenerator: keyOf,
    allowList: (_request, key) => limitOf(key) === 0,
    max: (_request, key) => limitOf(key),
    onExceeded: (_request, key) => settings.metrics?.rateLimited.inc({ scope: key.startsWith("user:") ? "user" : "anonymous" }),
    errorResponseBuilder: (_request, context) => new RateLimitedError(Math.max(1, Math.ceil(context.ttl / 1000))),
  });

  return {
    hook: app.rateLimit(),
    charge(request, cost) {
      const key = keys.get(request);
      // Callers without a session are counted in requests: every operation they run answers UNAUTHENTICATED.
      if (key?.startsWith("user:") && settings.perUser > 0 && cost > 0) store.charge(key, cost / 100, windowMs);
    },
    handle(error, reply) {
      if (!(error instanceof RateLimitedError)) return false;
      void reply
        .code(429)
        .header("retry-after", String(error.retryAfterSeconds))
        .type("application/json; charset=utf-8")
        .send({ errors: [{ message: error.message, extensions: { code: ErrorCode.RATE_LIMITED, retryAfter: error.retryAfterSeconds } }] });
      return true;
    },
  };
}
