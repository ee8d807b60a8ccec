/**
 * The process's Permit SDK client, and the translation of its failures into the API's error
 * taxonomy. Create the client once at boot and share it: it holds the API-key scope it
 * resolves on the first REST call and the HTTP agents.
 */
import http from "node:http";
import https from "node:https";
import type { AxiosInstance } from "axios";
import { Permit, PermitApiError, PermitConnectionError, PermitContextError, PermitError } from "permitio";
import { AppError, authzUnavailable, isAppError } from "../common/errors";
import type { Logger } from "../common/logger";
import { decisionClient } from "./decision-transport";

export interface PermitClientSettings {
  apiKey: string;
  pdpUrl: string;
  apiUrl: string;
  /** Timeout of every PDP decision call (check, bulkCheck), in ms. */
  timeoutMs: number;
  /**
   * Timeout of REST calls (facts, schema), in ms. The SDK applies none of its own, so a hung
   * API would otherwise hang the caller forever. Default: max(10 s, 5 × timeoutMs).
   */
  restTimeoutMs?: number;
  /**
   * Connections to the PDP at most, kept alive between calls (default 32). Unbounded, every
   * concurrent decision call would open a connection of its own and keep it.
   */
  pdpMaxSockets?: number;
  /** Decision calls through axios's own adapter, for a proxy it honours (default false). */
  pdpViaProxy?: boolean;
}

/** The SDK's own HTTP client for the PDP (2.7.6): its options cover the REST and OPA clients only. */
type WithPdpClient = { enforcer?: { client?: AxiosInstance } };

const DEFAULT_PDP_MAX_SOCKETS = 32;

const stripTrailingSlash = (url: string) => url.replace(/\/+$/, "");

export function createPermitClient(settings: PermitClientSettings, logger: Logger): Permit {
  const pdp = stripTrailingSlash(settings.pdpUrl);
  // The SDK concatenates `${apiUrl}/v2/...`: a trailing slash would yield `//v2`.
  const apiUrl = stripTrailingSlash(settings.apiUrl);
  const permit = new Permit({
    token: settings.apiKey,
    pdp,
    apiUrl,
    timeout: settings.timeoutMs,
    throwOnError: true,
    // The SDK's own pino logger prints the whole config, token included, at debug level, and
    // `json: true` crashes 2.7.6. Our code logs the failures it sees (without the token).
    log: { level: "silent", json: false, label: "permit" },
    // A retrying client would stretch a PDP outage beyond `timeoutMs`; the request fails
    // fast instead, and fact writes are retried by their outbox.
    retry: false,
    pdpRetry: false,
    multiTenancy: { useDefaultTenantIfEmpty: true },
  });
  const restTimeoutMs = settings.restTimeoutMs ?? Math.max(10_000, 5 * settings.timeoutMs);
  // `axiosInstance` is the REST client only (the PDP client has its own, with `timeout`).
  permit.config.axiosInstance.defaults.timeout = restTimeoutMs;
  const enforcer = (permit as unknown as WithPdpClient).enforcer;
  if (!enforcer?.client?.defaults) throw new Error("the permitio SDK's PDP client was not found (SDK 2.7.6 is pinned for it)");
  const maxSockets = settings.pdpMaxSockets ?? DEFAULT_PDP_MAX_SOCKETS;
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
    https: new https.Agent({ keepAlive: true, maxSockets, maxFreeSockets: maxSockets }),
  };
  enforcer.client = decisionClient(enforcer.client, agents, { viaProxy: settings.pdpViaProxy ?? false });
  logger.debug({ pdp, apiUrl, timeoutMs: settings.timeoutMs, restTimeoutMs }, "permit client created");
  return permit;
}

/** What a Permit failure was, in terms safe to log: never the request config (it holds the bearer token). */
export interface PermitFailure {
  kind: "connection" | "status" | "context" | "api" | "unexpected";
  message: string;
  /** HTTP status, when the server answered. */
  status?: number;
  /** Transport error code (ECONNREFUSED, ECONNABORTED, ...), when there was one. */
  code?: string;
}

const BEARER = /Bearer\s+[^\s"',]+/gi;
const scrub = (text: string) => text.replace(BEARER, "Bearer [redacted]").replace(/\s+/g, " ").trim().slice(0, 500);

/**
 * Describes an SDK error without holding on to it. `PermitApiError` carries the axios error,
 * whose `config.headers.Authorization` is the API key, and pino's error serializer would walk
 * into it; so only these fields ever leave this module.
 */
export function describePermitError(err: unknown): PermitFailure {
  if (err instanceof PermitApiError) {
    const status = err.response?.status;
    const body = err.response?.data as { message?: unknown; detail?: unknown } | undefined;
    const detail = typeof body?.message === "string" ? body.message : body?.detail !== undefined ? JSON.stringify(body.detail) : undefined;
    return {
      kind: "api",
      message: scrub(detail ?? err.originalError?.message ?? err.message ?? "Permit API error"),
      status,
      code: err.originalError?.code,
    };
  }
  if (err instanceof PermitContextError) return { kind: "context", message: scrub(err.message) };
  if (err instanceof PermitConnectionError) {
    // The SDK folds the cause (status, ECONNREFUSED, "timeout of Nms exceeded") into the message.
    const first = err.message.split("\n").map((l) => l.trim()).filter(Boolean).slice(0, 2).join(" ");
    const status = /status code (\d{3})/.exec(err.message)?.[1];
    const code = /\b(E[A-Z]{3,})\b/.exec(err.message)?.[1];
    return { kind: "connection", message: scrub(first), status: status ? Number(status) : undefined, code };
  }
  if (err instanceof PermitError) return { kind: "status", message: scrub(err.message) };
  const e = err as { message?: unknown; code?: unknown; response?: { status?: unknown } } | undefined;
  return {
    kind: "unexpected",
    message: scrub(typeof e?.message === "string" ? e.message : String(err)),
    status: typeof e?.response?.status === "number" ? e.response.status : undefined,
    code: typeof e?.code === "string" ? e.code : undefined,
  };
}

/**
 * True when the failure says "Permit could not be reached or did not answer properly" (worth
 * retrying later), as opposed to Permit rejecting the request itself (a 4xx from the API).
 */
export function isPermitUnavailable(err: unknown): boolean {
  const f = describePermitError(err);
  switch (f.kind) {
    case "connection":
    case "status":
    case "context":
      return true;
    case "api":
      return f.status === undefined || f.status >= 500 || f.status === 408 || f.status === 429;
    default:
      return f.code !== undefined && f.status === undefined;
  }
}

/** The sanitized cause attached to AUTHZ_UNAVAILABLE errors (no SDK object, so no token). */
class PermitUnavailableError extends Error {
  readonly kind: PermitFailure["kind"];
  readonly status?: number;
  readonly code?: string;
  constructor(failure: PermitFailure) {
    super(failure.message);
    this.name = "PermitUnavailableError";
    this.kind = failure.kind;
    this.status = failure.status;
    this.code = failure.code;
  }
}

/**
 * Maps any failure of a Permit call on the decision path to AUTHZ_UNAVAILABLE: the request is
 * refused, never decided by default. Connection failures, timeouts and non-200 answers are
 * logged as warnings; anything else (a malformed answer, a bug) as an error, since it fails
 * closed just the same.
 */
export function toAuthzError(err: unknown, logger?: Logger): AppError {
  if (isAppError(err)) return err;
  const failure = describePermitError(err);
  const expected = failure.kind !== "unexpected" || failure.code !== undefined;
  if (logger) {
    const entry = { permit: failure };
    if (expected) logger.warn(entry, "authorization service unavailable");
    else logger.error(entry, "authorization check failed unexpectedly; failing closed");
  }
  return authzUnavailable(new PermitUnavailableError(failure));
}
