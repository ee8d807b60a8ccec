/**
 * The only reader of `process.env`. Every variable is validated here once, at boot, and a
 * wrong value stops the start with a message that names the variable. Service variables that
 * are unset select the embedded default for that service (refused in production).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";

export interface Config {
  nodeEnv: "development" | "production" | "test";
  host: string;
  port: number;
  dataDir: string;
  logLevel: "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";
  /** PostgreSQL connection string; undefined → embedded PostgreSQL under `dataDir/pg`. */
  databaseUrl?: string;
  hanko: {
    /** Base URL of the Hanko API; undefined → the dev issuer inside this process. */
    apiUrl?: string;
    /** Base URL the browser uses for Hanko (the explorer's sign-in); defaults to `apiUrl`. */
    publicUrl?: string;
    audience: string;
    issuer?: string;
    /** `remote` additionally validates the session with Hanko (revocation), cached briefly. */
    sessionCheck: "remote" | "off";
  };
  permit: {
    /** All three unset → the local Permit-compatible PDP, started in-process. */
    apiKey?: string;
    pdpUrl?: string;
    apiUrl?: string;
    tenant: string;
    timeoutMs: number;
    /** Connections kept open to the PDP at most (`PERMIT_PDP_MAX_SOCKETS`); more concurrent calls wait for one. */
    pdpMaxSockets: number;
    /**
     * The environment names an HTTP(S) proxy (`HTTP_PROXY`, `HTTPS_PROXY`, or lower case): decision
     * calls then go through axios's own adapter, which honours it (`src/permit/decision-transport.ts`).
     */
    pdpViaProxy: boolean;
    /** Port of the embedded local PDP (`LOCAL_PDP_PORT`; 0, the default, = any free port). */
    localPdpPort: number;
    /**
     * How the rules reach the embedded local PDP (`LOCAL_PDP_DECISIONS`): `in-process` function
     * calls (the default) or the SDK over HTTP, as a sidecar or Permit's cloud always is.
     */
    localPdpDecisions: "in-process" | "http";
  };
  limits: {
    maxDepth: number;
    maxComplexity: number;
  };
  /** Browser origins allowed to call the API cross-origin (`CORS_ORIGINS`, comma-separated); none by default. */
  corsOrigins: string[];
  /**
   * Which peers may say who the client is through `X-Forwarded-For` (`TRUST_PROXY`): none (false,
   * the default: the client is the socket's peer), the number of proxy hops in front of the API,
   * or the proxies' addresses and CIDR ranges. Fastify's `trustProxy`, so it decides `request.ip`.
   */
  trustProxy: false | number | string[];
  /** Serve the GraphiQL explorer at `/explorer` (`EXPLORER`); on by default outside production. */
  explorer: boolean;
  /**
   * A request with `x-authz-explain: 1` gets the explanation of each denial (`extensions.explanation`).
   * Outside production only, with no variable to turn it on there: it tells a caller the policy and facts.
   */
  authzExplainHeader: boolean;
  /** Key material for list cursors (`CURSOR_SECRET`); undefined → a random key kept in `dataDir`. Replicas must share it. */
  cursorSecret?: string;
  /** How long a mutation waits for the PDP to acknowledge its facts (`OUTBOX_WAIT_MS`). */
  outboxWaitMs: number;
  /** The change feed's log: how long changes are kept (`NOTE_CHANGES_RETENTION_DAYS`) and how often it is trimmed. */
  noteChanges: { retentionDays: number; trimIntervalMs: number };
  /** How long list plans reuse the policy and a caller's role assignments read from Permit (`LIST_PLAN_TTL_MS`). */
  listPlanTtlMs: number;
  /** The only operations the server runs (`TRUSTED_DOCUMENTS`, a manifest file); undefined → any valid operation. */
  trustedDocuments?: TrustedDocuments;
  /** Operations: rate limits, the PDP circuit breaker, database timeouts, shutdown (README "Operating it"). */
  ops: OpsConfig;
  /** GraphQL subscriptions over WebSocket (README "Live updates"). */
  subscriptions: SubscriptionsConfig;
}

export interface SubscriptionsConfig {
  /** Open WebSocket connections per user and replica (`WS_MAX_CONNECTIONS_PER_USER`); one more is closed with 4403. */
  maxConnectionsPerUser: number;
  /** Active subscriptions per connection (`WS_MAX_SUBSCRIPTIONS_PER_CONNECTION`); one more gets RATE_LIMITED. */
  maxSubscriptionsPerConnection: number;
  /** Largest message a client may send, in bytes (`WS_MAX_MESSAGE_BYTES`); a larger one closes with 1009. */
  maxMessageBytes: number;
  /** Time a client has to send ConnectionInit (`WS_HANDSHAKE_TIMEOUT_MS`); then 4408. */
  handshakeTimeoutMs: number;
  /** How often an open connection's session is verified again (`WS_SESSION_RECHECK_MS`, at most 30 s). */
  sessionRecheckMs: number;
}

export interface OpsConfig {
  /** Points per user per minute (`RATE_LIMIT_PER_MINUTE`; an operation costs 1 + complexity/100); 0 = no limit. */
  rateLimitPerMinute: number;
  /** Requests per IP per minute without a valid session (`RATE_LIMIT_ANON_PER_MINUTE`); 0 = no limit. */
  rateLimitAnonPerMinute: number;
  /** Consecutive PDP failures that open the circuit (`PDP_BREAKER_FAILURES`). */
  breakerFailures: number;
  /** How long the circuit stays open before one probe is let through (`PDP_BREAKER_COOLDOWN_MS`). */
  breakerCooldownMs: number;
  /** Wait for a database connection at most this long (`DATABASE_CONNECT_TIMEOUT_MS`). */
  databaseConnectTimeoutMs: number;
  /** A query that has not answered after this long fails (`DATABASE_QUERY_TIMEOUT_MS`). */
  databaseQueryTimeoutMs: number;
  /** On SIGTERM, how long the outbox may keep delivering after the last request finished (`SHUTDOWN_DRAIN_MS`). */
  shutdownDrainMs: number;
}

/** A safelist of operations: the sha256 hex of each document's text → that text, exactly. */
export interface TrustedDocuments {
  path: string;
  byHash: ReadonlyMap<string, string>;
}

export class ConfigError extends Error {
  constructor(readonly variable: string, problem: string) {
    super(`Invalid configuration: ${variable} ${problem}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

function nonEmpty(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === "" ? undefined : value;
}

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const value = nonEmpty(env, name) ?? fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigError(name, `must be one of ${allowed.join(", ")} (got "${value}")`);
  }
  return value as T;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number (got "${raw}")`);
  const value = Number(raw);
  if (value < min || value > max) throw new ConfigError(name, `must be between ${min} and ${max} (got ${value})`);
  return value;
}

/** A base URL without a trailing slash (Permit's SDK builds `${apiUrl}/v2/...`). */
function baseUrl(env: Env, name: string): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(name, `must be an absolute http(s) URL (got "${raw}")`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(name, `must be an http(s) URL (got "${url.protocol}")`);
  }
  return raw.replace(/\/+$/, "");
}

function origins(env: Env, name: string): string[] {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return [];
  return raw.split(",").map((item) => {
    const origin = item.trim();
    let url: URL;
    try {
      url = new URL(origin);
    } catch {
      throw new ConfigError(name, `must list origins like https://app.example.com (got "${origin}")`);
    }
    if (url.origin !== origin.replace(/\/$/, "")) throw new ConfigError(name, `must list bare origins, without a path (got "${origin}")`);
    return url.origin;
  });
}

/** `address` or `address/prefix`, IPv4 or IPv6. */
function isAddressOrRange(entry: string): boolean {
  const [address, prefix, ...rest] = entry.split("/");
  const family = isIP(address ?? "");
  if (family === 0 || rest.length > 0) return false;
  return prefix === undefined || (/^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128));
}

function trustProxy(env: Env, name: string): false | number | string[] {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return false;
  const hint = "a hop count (e.g. 1) or a comma-separated list of proxy addresses and CIDR ranges (e.g. 10.0.0.0/8,127.0.0.1)";
  if (/^\d+$/.test(raw)) {
    const hops = Number(raw);
    if (hops < 1 || hops > 10) throw new ConfigError(name, `must be between 1 and 10 hops, or unset to trust no proxy (got ${hops})`);
    return hops;
  }
  // `true` would let any client choose the address its rate limit is counted under.
  if (/^(true|yes|on|all)$/i.test(raw)) throw new ConfigError(name, `must be ${hint}: trusting every peer would let any client pick its address (got "${raw}")`);
  return raw.split(",").map((item) => {
    const entry = item.trim();
    if (!isAddressOrRange(entry)) throw new ConfigError(name, `must be ${hint} (got "${entry}")`);
    return entry;
  });
}

/** A secret of at least 32 characters; never echoed. */
function secret(env: Env, name: string): string | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  if (raw.length < 32) throw new ConfigError(name, "must be at least 32 characters long (e.g. `openssl rand -base64 32`)");
  return raw;
}

function databaseUrl(env: Env): string | undefined {
  const raw = nonEmpty(env, "DATABASE_URL");
  if (raw === undefined) return undefined;
  if (!/^postgres(ql)?:\/\//.test(raw)) {
    // Never echo the value: it usually carries a password.
    throw new ConfigError("DATABASE_URL", "must be a postgres:// or postgresql:// URL");
  }
  return raw;
}

/**
 * The manifest a client's codegen writes: a JSON object of sha256 hex hashes to the exact text
 * they were computed over. Every entry is checked, so a hand-edited or truncated file stops the start.
 */
function trustedDocuments(env: Env, name: string): TrustedDocuments | undefined {
  const raw = nonEmpty(env, name);
  if (raw === undefined) return undefined;
  const file = path.resolve(raw);
  let manifest: unknown;
  try {
    manifest = JSON.parse(readFileSync(file, "utf8"));
  } catch (error) {
    const problem = (error as NodeJS.ErrnoException).code === "ENOENT" ? "does not exist" : "is not readable JSON";
    throw new ConfigError(name, `must name a manifest file (${file} ${problem})`);
  }
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    throw new ConfigError(name, `must name a JSON object of sha256 hashes to documents (${file})`);
  }
  const byHash = new Map<string, string>();
  for (const [hash, text] of Object.entries(manifest)) {
    if (!/^[0-9a-f]{64}$/.test(hash)) throw new ConfigError(name, `lists a key that is not a sha256 hex hash: "${hash.slice(0, 80)}" (${file})`);
    if (typeof text !== "string" || text.trim() === "") throw new ConfigError(name, `lists ${hash} with no document text (${file})`);
    if (createHash("sha256").update(text).digest("hex") !== hash) {
      throw new ConfigError(name, `lists ${hash} with a document whose sha256 differs (${file})`);
    }
    byHash.set(hash, text);
  }
  if (byHash.size === 0) throw new ConfigError(name, `lists no documents (${file})`);
  return { path: file, byHash };
}

export function loadConfig(env: Env = process.env): Config {
  const nodeEnv = oneOf(env, "NODE_ENV", ["development", "production", "test"] as const, "development");
  const config: Config = {
    nodeEnv,
    host: nonEmpty(env, "HOST") ?? "127.0.0.1",
    port: integer(env, "PORT", 4000, 0, 65535),
    dataDir: path.resolve(nonEmpty(env, "DATA_DIR") ?? ".data"),
    logLevel: oneOf(env, "LOG_LEVEL", ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const, "info"),
    databaseUrl: databaseUrl(env),
    hanko: {
      apiUrl: baseUrl(env, "HANKO_API_URL"),
      publicUrl: baseUrl(env, "HANKO_PUBLIC_URL") ?? baseUrl(env, "HANKO_API_URL"),
      audience: nonEmpty(env, "HANKO_AUDIENCE") ?? "notes-api",
      issuer: nonEmpty(env, "HANKO_ISSUER"),
      sessionCheck: oneOf(env, "HANKO_SESSION_CHECK", ["remote", "off"] as const, "off"),
    },
    permit: {
      apiKey: nonEmpty(env, "PERMIT_API_KEY"),
      pdpUrl: baseUrl(env, "PERMIT_PDP_URL"),
      apiUrl: baseUrl(env, "PERMIT_API_URL"),
      tenant: nonEmpty(env, "PERMIT_TENANT") ?? "default",
      timeoutMs: integer(env, "PERMIT_TIMEOUT_MS", 2000, 50, 60000),
      pdpMaxSockets: integer(env, "PERMIT_PDP_MAX_SOCKETS", 32, 1, 1024),
      pdpViaProxy: ["HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy"].some((name) => Boolean(env[name])),
      // 0: any free port, so that two checkouts can run side by side; the CLIs find it in DATA_DIR.
      localPdpPort: integer(env, "LOCAL_PDP_PORT", 0, 0, 65535),
      localPdpDecisions: oneOf(env, "LOCAL_PDP_DECISIONS", ["in-process", "http"] as const, "in-process"),
    },
    limits: {
      maxDepth: integer(env, "GRAPHQL_MAX_DEPTH", 8, 2, 50),
      maxComplexity: integer(env, "GRAPHQL_MAX_COMPLEXITY", 5000, 10, 1_000_000),
    },
    corsOrigins: origins(env, "CORS_ORIGINS"),
    trustProxy: trustProxy(env, "TRUST_PROXY"),
    explorer: oneOf(env, "EXPLORER", ["on", "off"] as const, nodeEnv === "production" ? "off" : "on") === "on",
    authzExplainHeader: nodeEnv !== "production",
    cursorSecret: secret(env, "CURSOR_SECRET"),
    outboxWaitMs: integer(env, "OUTBOX_WAIT_MS", 3000, 0, 60000),
    listPlanTtlMs: integer(env, "LIST_PLAN_TTL_MS", 10000, 0, 600000),
    noteChanges: {
      retentionDays: integer(env, "NOTE_CHANGES_RETENTION_DAYS", 30, 1, 3650),
      trimIntervalMs: integer(env, "NOTE_CHANGES_TRIM_INTERVAL_MS", 60000, 100, 86_400_000),
    },
    trustedDocuments: trustedDocuments(env, "TRUSTED_DOCUMENTS"),
    ops: {
      rateLimitPerMinute: integer(env, "RATE_LIMIT_PER_MINUTE", 1200, 0, 10_000_000),
      rateLimitAnonPerMinute: integer(env, "RATE_LIMIT_ANON_PER_MINUTE", 120, 0, 10_000_000),
      breakerFailures: integer(env, "PDP_BREAKER_FAILURES", 5, 1, 1000),
      breakerCooldownMs: integer(env, "PDP_BREAKER_COOLDOWN_MS", 5000, 10, 600_000),
      databaseConnectTimeoutMs: integer(env, "DATABASE_CONNECT_TIMEOUT_MS", 5000, 100, 600_000),
      databaseQueryTimeoutMs: integer(env, "DATABASE_QUERY_TIMEOUT_MS", 30_000, 100, 3_600_000),
      shutdownDrainMs: integer(env, "SHUTDOWN_DRAIN_MS", 5000, 0, 600_000),
    },
    subscriptions: {
      maxConnectionsPerUser: integer(env, "WS_MAX_CONNECTIONS_PER_USER", 10, 1, 10_000),
      maxSubscriptionsPerConnection: integer(env, "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION", 20, 1, 10_000),
      maxMessageBytes: integer(env, "WS_MAX_MESSAGE_BYTES", 65_536, 1024, 16_777_216),
      handshakeTimeoutMs: integer(env, "WS_HANDSHAKE_TIMEOUT_MS", 10_000, 100, 600_000),
      sessionRecheckMs: integer(env, "WS_SESSION_RECHECK_MS", 30_000, 100, 30_000),
    },
  };

  const permitSet = [config.permit.apiKey, config.permit.pdpUrl, config.permit.apiUrl].filter(Boolean).length;
  if (permitSet > 0 && permitSet < 3) {
    const missing = (["PERMIT_API_KEY", "PERMIT_PDP_URL", "PERMIT_API_URL"] as const).filter((n) => !nonEmpty(env, n));
    throw new ConfigError(missing[0], "must be set together with the other PERMIT_* variables (or none, for the local PDP)");
  }
  if (config.hanko.sessionCheck === "remote" && !config.hanko.apiUrl) {
    throw new ConfigError("HANKO_SESSION_CHECK", "=remote needs HANKO_API_URL");
  }
  if (nonEmpty(env, "HANKO_PUBLIC_URL") && !config.hanko.apiUrl) {
    // The dev issuer has no browser-facing Hanko; a public URL without the API URL is a mistake.
    throw new ConfigError("HANKO_PUBLIC_URL", "needs HANKO_API_URL");
  }
  if (nodeEnv === "production") {
    for (const [name, value] of [
      ["DATABASE_URL", config.databaseUrl],
      ["HANKO_API_URL", config.hanko.apiUrl],
      ["PERMIT_API_KEY", config.permit.apiKey],
      ["CURSOR_SECRET", config.cursorSecret],
    ] as const) {
      if (!value) throw new ConfigError(name, "is required when NODE_ENV=production (embedded defaults are for development only)");
    }
  }
  return config;
}

/** True when the process must start the embedded default for that service. */
export const usesEmbedded = {
  database: (c: Config) => c.databaseUrl === undefined,
  hanko: (c: Config) => c.hanko.apiUrl === undefined,
  permit: (c: Config) => c.permit.apiKey === undefined,
};
