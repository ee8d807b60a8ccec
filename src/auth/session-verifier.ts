/**
 * Verifies Hanko session tokens and turns them into a Principal.
 *
 * Local verification (signature against Hanko's JWKS, RS256 only, audience, issuer when
 * configured, expiry with a small clock tolerance) proves the token was issued by Hanko and has
 * not expired. It cannot see revocation (logout, session limit, admin revoke, user deletion):
 * the optional remote check asks Hanko's `POST /sessions/validate`, cached briefly per session.
 *
 * Failure taxonomy:
 * - the caller's token is at fault → `unauthenticated(message, reason)` (an AppError with code
 *   UNAUTHENTICATED and a stable `extensions.reason`, see {@link AuthFailureReason});
 * - our dependencies are at fault (JWKS or Hanko unreachable, non-200, unparsable answer) →
 *   a plain `Error` ({@link HankoUnavailableError}), which `formatError` masks as
 *   INTERNAL_SERVER_ERROR. Telling the client "your token is bad" during a Hanko outage would
 *   make clients discard good tokens and re-login in a loop; the request still fails (closed).
 */
import { createRemoteJWKSet, customFetch, errors, jwtVerify } from "jose";
import type { FlattenedJWSInput, JWSHeaderParameters, JWTPayload } from "jose";
import { unauthenticated } from "../common/errors";
import type { AppError } from "../common/errors";
import type { Principal } from "./principal";

/** Stable values of `extensions.reason` on UNAUTHENTICATED errors from the verifier. */
export const AuthFailureReason = {
  TOKEN_EXPIRED: "token_expired",
  TOKEN_NOT_YET_VALID: "token_not_yet_valid",
  BAD_AUDIENCE: "bad_audience",
  BAD_ISSUER: "bad_issuer",
  BAD_SIGNATURE: "bad_signature",
  BAD_ALGORITHM: "bad_algorithm",
  UNKNOWN_KEY: "unknown_key",
  MALFORMED_TOKEN: "malformed_token",
  NOT_A_SESSION_TOKEN: "not_a_session_token",
  SESSION_REVOKED: "session_revoked",
  /** Hanko reported the user deleted (webhook `user.delete`); their unexpired tokens are refused. */
  USER_DELETED: "user_deleted",
  NOT_A_WEBHOOK_TOKEN: "not_a_webhook_token",
} as const;
export type AuthFailureReason = (typeof AuthFailureReason)[keyof typeof AuthFailureReason];

const MESSAGES: Record<AuthFailureReason, string> = {
  token_expired: "The session token has expired; sign in again.",
  token_not_yet_valid: "The session token is not valid yet.",
  bad_audience: "The session token was issued for a different audience.",
  bad_issuer: "The session token was issued by an unexpected issuer.",
  bad_signature: "The session token signature is invalid.",
  bad_algorithm: "The session token uses an unsupported signing algorithm.",
  unknown_key: "The session token was signed with an unknown key.",
  malformed_token: "The session token is malformed.",
  not_a_session_token: "The token is not a Hanko session token.",
  session_revoked: "The session has ended; sign in again.",
  user_deleted: "The user has been deleted.",
  not_a_webhook_token: "The token is not a Hanko webhook token.",
};

/** Raised when Hanko (its JWKS or its session API) cannot give an answer. Not the caller's fault. */
export class HankoUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "HankoUnavailableError";
  }
}

export interface SessionVerifierOptions {
  /** Hanko's JWKS: `{HANKO_API_URL}/.well-known/jwks.json`, or the dev issuer's. */
  jwksUrl: URL;
  /** Expected `aud` (Hanko's `session.audience`); the token's `aud` array must contain it. */
  audience: string;
  /** Expected `iss`; only checked (and then required) when set, since Hanko omits it by default. */
  issuer?: string;
  /** Allowed clock skew for `exp`, `nbf` and `iat`, 0–30 seconds (default 30). */
  clockToleranceSec?: number;
  /** Ask Hanko whether the session still exists (revocation); off when omitted. */
  sessionCheck?: {
    /** Hanko API base URL without a trailing slash; `POST {apiUrl}/sessions/validate` is called. */
    apiUrl: string;
    /** How long an answer is reused per session_id (default 30 s; never beyond the token's exp). */
    cacheTtlMs?: number;
    /** Timeout of one validation call (default 5 s). */
    timeoutMs?: number;
  };
  /** HTTP client for the JWKS and the session check (default: global fetch). */
  fetch?: typeof fetch;
  /** Current time in ms since the epoch; lets tests move the clock (default: Date.now). */
  clock?: () => number;
}

/** A verified Hanko webhook token: the event (`evt` claim, never the unsigned body field) and its `data`. */
export interface WebhookEvent {
  event: string;
  data: Record<string, unknown>;
}

export interface VerifyOptions {
  /**
   * Ask Hanko again even when an answer for this session is cached (the session check only):
   * a long-lived connection re-verified every 30 s then learns of a revocation within 30 s.
   */
  fresh?: boolean;
}

/** Hanko's `sub` on every webhook token. */
export const WEBHOOK_SUBJECT = "hanko webhooks";

export interface SessionVerifier {
  /** The clock skew allowed on `exp` (and `nbf`, `iat`), in seconds. */
  readonly clockToleranceSec: number;
  /**
   * Resolves to the token's Principal, or rejects with an UNAUTHENTICATED AppError (bad token,
   * see {@link AuthFailureReason}) or a plain Error (Hanko unreachable; masked as internal).
   */
  verify(token: string, options?: VerifyOptions): Promise<Principal>;
  /**
   * Webhook mode: the same key set, RS256 pinning, audience, issuer and clock tolerance, but
   * only a webhook token passes (`sub: "hanko webhooks"`, string `evt`, object `data`, no
   * `session_id`); a session token is refused with `not_a_webhook_token`.
   */
  verifyWebhook(token: string): Promise<WebhookEvent>;
}

const MAX_CLOCK_TOLERANCE_SEC = 30;
const DEFAULT_SESSION_CACHE_TTL_MS = 30_000;
const DEFAULT_SESSION_CHECK_TIMEOUT_MS = 5_000;
/** Real Hanko tokens are ~1 KiB; anything far larger is not worth parsing. */
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Bound memory for the per-session and verified-token caches. */
const MAX_CACHED_SESSIONS = 10_000;
const MAX_CACHED_TOKENS = 10_000;
/** How long a verified token is taken without verifying its signature again (never past its exp). */
const VERIFIED_TOKEN_TTL_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The UNAUTHENTICATED error of a reason, with its message: the verifier's, and first sight's for a deleted user. */
export const authFailure = (reason: AuthFailureReason): AppError => unauthenticated(MESSAGES[reason], reason);

/**
 * Builds a verifier. It owns one remote JWKS set (cached by jose for 10 min, refetched on an
 * unknown `kid` at most every 30 s, so key rotation is transparent): create ONE verifier per
 * process and share it, never one per request.
 */
export function createSessionVerifier(opts: SessionVerifierOptions): SessionVerifier {
  const clockToleranceSec = opts.clockToleranceSec ?? MAX_CLOCK_TOLERANCE_SEC;
  if (!Number.isFinite(clockToleranceSec) || clockToleranceSec < 0 || clockToleranceSec > MAX_CLOCK_TOLERANCE_SEC) {
    throw new RangeError(`clockToleranceSec must be between 0 and ${MAX_CLOCK_TOLERANCE_SEC}`);
  }
  if (!opts.audience) throw new TypeError("audience is required");
  const clock = opts.clock ?? Date.now;
  const fetchImpl = opts.fetch ?? globalThis.fetch;

  const remoteJwks = createRemoteJWKSet(opts.jwksUrl, { [customFetch]: fetchImpl });
  // Separates "no key for this token" (the token's fault) from "could not load the keys" (ours).
  const getKey = async (header: JWSHeaderParameters, token: FlattenedJWSInput) => {
    try {
      return await remoteJwks(header, token);
    } catch (error) {
      if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) throw error;
      throw new HankoUnavailableError("Hanko's JWKS could not be loaded", { cause: error });
    }
  };

  const sessionCheck = opts.sessionCheck ? createSessionCheck(opts.sessionCheck, fetchImpl, clock) : undefined;
  // A token that verified is taken again without its RSA verification while it is unexpired,
  // for at most VERIFIED_TOKEN_TTL_MS: no longer than jose itself keeps a key that Hanko's JWKS
  // dropped. Revocation is not local (the session check below, and first sight for deleted users).
  const verified = new ExpiringCache<{ principal: Principal; exp: number }>(MAX_CACHED_TOKENS, clock);

  async function verifySignedClaims(token: string, requiredClaims: string[]): Promise<JWTPayload> {
    if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_LENGTH) {
      throw authFailure("malformed_token");
    }
    const nowSec = Math.floor(clock() / 1000);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, getKey, {
        algorithms: ["RS256"],
        audience: opts.audience,
        ...(opts.issuer !== undefined ? { issuer: opts.issuer } : {}),
        clockTolerance: clockToleranceSec,
        requiredClaims,
        currentDate: new Date(nowSec * 1000),
      }));
    } catch (error) {
      throw translateJoseError(error);
    }

    // jose only checks `iat` together with maxTokenAge; a token issued in the future means a
    // broken or hostile issuer clock, so it is refused like an `nbf` in the future.
    if (typeof payload.iat === "number" && payload.iat > nowSec + clockToleranceSec) {
      throw authFailure("token_not_yet_valid");
    }
    return payload;
  }

  async function verifyLocally(token: string): Promise<{ principal: Principal; exp: number }> {
    const payload = await verifySignedClaims(token, ["exp", "sub", "session_id"]);
    // Hanko signs webhook tokens (`sub: "hanko webhooks"`) with the same key and audience: only a
    // UUID user and a UUID session make a session token.
    const { sub } = payload;
    const sessionId: unknown = payload.session_id;
    if (typeof sub !== "string" || !UUID.test(sub) || typeof sessionId !== "string" || !UUID.test(sessionId)) {
      throw authFailure("not_a_session_token");
    }
    const principal: Principal = { userId: sub.toLowerCase(), sessionId: sessionId.toLowerCase() };
    if (typeof payload.iat === "number") principal.issuedAt = payload.iat;
    principal.expiresAt = payload.exp as number;
    const email = emailOf(payload);
    if (email !== undefined) principal.email = email;
    return { principal, exp: payload.exp as number };
  }

  return {
    clockToleranceSec,
    async verify(token: string, options: VerifyOptions = {}): Promise<Principal> {
      let local = verified.get(token);
      if (!local) {
        local = await verifyLocally(token);
        // Accepted until exp + tolerance, as jose would: past it, verification runs and says token_expired.
        verified.set(token, local, Math.min(clock() + VERIFIED_TOKEN_TTL_MS, (local.exp + clockToleranceSec) * 1000));
      }
      const { exp } = local;
      const principal = { ...local.principal };
      if (sessionCheck && !(await sessionCheck(token, principal.sessionId, exp, options.fresh ?? false))) {
        throw authFailure("session_revoked");
      }
      return principal;
    },
    async verifyWebhook(token: string): Promise<WebhookEvent> {
      let payload: JWTPayload;
      try {
        payload = await verifySignedClaims(token, ["exp", "sub", "evt", "data"]);
      } catch (error) {
        const reason = (error as { extensions?: { reason?: unknown } }).extensions?.reason;
        throw reason === "not_a_session_token" ? authFailure("not_a_webhook_token") : error;
      }
      const { sub, evt, data } = payload as JWTPayload & { evt?: unknown; data?: unknown };
      if (sub !== WEBHOOK_SUBJECT || payload.session_id !== undefined || typeof evt !== "string" || evt.length === 0 || evt.length > 200) {
        throw authFailure("not_a_webhook_token");
      }
      if (typeof data !== "object" || data === null || Array.isArray(data)) throw authFailure("not_a_webhook_token");
      return { event: evt, data: data as Record<string, unknown> };
    },
  };
}

function emailOf(payload: JWTPayload): string | undefined {
  const claim: unknown = payload.email;
  if (typeof claim !== "object" || claim === null) return undefined;
  const address: unknown = (claim as { address?: unknown }).address;
  return typeof address === "string" && address.length > 0 && address.length <= 254 ? address : undefined;
}

/** Maps jose's error classes onto the reason codes; anything unrecognised is not the token's fault. */
function translateJoseError(error: unknown): Error {
  if (error instanceof HankoUnavailableError) return error;
  if (error instanceof errors.JWTExpired) return authFailure("token_expired");
  if (error instanceof errors.JWTClaimValidationFailed) {
    switch (error.claim) {
      case "nbf":
      case "iat":
        return authFailure(error.reason === "check_failed" ? "token_not_yet_valid" : "malformed_token");
      case "aud":
        return authFailure("bad_audience");
      case "iss":
        return authFailure("bad_issuer");
      case "sub":
      case "session_id":
      case "evt":
      case "data":
        return authFailure("not_a_session_token");
      default:
        return authFailure("malformed_token");
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return authFailure("bad_algorithm");
  if (error instanceof errors.JWSSignatureVerificationFailed) return authFailure("bad_signature");
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys) {
    return authFailure("unknown_key");
  }
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid || error instanceof errors.JOSENotSupported) {
    return authFailure("malformed_token");
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** A bounded map whose entries end at their own time; expired entries are swept before live ones are evicted (oldest first). */
class ExpiringCache<V> {
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly max: number,
    private readonly clock: () => number,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.clock()) return entry.value;
    this.entries.delete(key);
    return undefined;
  }

  set(key: string, value: V, expiresAt: number): void {
    const now = this.clock();
    if (expiresAt <= now) return;
    if (this.entries.size >= this.max) {
      for (const [k, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(k);
      // Still full: drop the oldest insertions (a Map iterates in insertion order).
      for (const k of this.entries.keys()) {
        if (this.entries.size < this.max) break;
        this.entries.delete(k);
      }
    }
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
  }
}

/**
 * `POST {apiUrl}/sessions/validate` with a per-session cache and single-flight. Fails closed:
 * `is_valid: false` → false (revoked); no usable answer → HankoUnavailableError.
 */
function createSessionCheck(
  options: NonNullable<SessionVerifierOptions["sessionCheck"]>,
  fetchImpl: typeof fetch,
  clock: () => number,
): (token: string, sessionId: string, exp: number, fresh: boolean) => Promise<boolean> {
  const endpoint = `${options.apiUrl.replace(/\/+$/, "")}/sessions/validate`;
  const ttlMs = options.cacheTtlMs ?? DEFAULT_SESSION_CACHE_TTL_MS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_SESSION_CHECK_TIMEOUT_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 0) throw new RangeError("sessionCheck.cacheTtlMs must be >= 0");
  const cache = new ExpiringCache<boolean>(MAX_CACHED_SESSIONS, clock);
  const inFlight = new Map<string, Promise<boolean>>();

  async function ask(token: string): Promise<boolean> {
    let response: Response;
    try {
      response = await fetchImpl(endpoint, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json" },
        body: JSON.stringify({ session_token: token }),
        redirect: "manual",
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (error) {
      throw new HankoUnavailableError("Hanko's session validation could not be reached", { cause: error });
    }
    if (response.status !== 200) {
      await response.body?.cancel().catch(() => undefined);
      throw new HankoUnavailableError(`Hanko's session validation answered HTTP ${response.status}`);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (error) {
      throw new HankoUnavailableError("Hanko's session validation answered with invalid JSON", { cause: error });
    }
    const isValid: unknown = typeof body === "object" && body !== null ? (body as { is_valid?: unknown }).is_valid : undefined;
    if (typeof isValid !== "boolean") {
      throw new HankoUnavailableError("Hanko's session validation answer has no boolean is_valid");
    }
    return isValid;
  }

  return async (token, sessionId, exp, fresh) => {
    const cached = fresh ? undefined : cache.get(sessionId);
    if (cached !== undefined) return cached;
    let pending = inFlight.get(sessionId);
    if (!pending) {
      pending = ask(token)
        .then((valid) => {
          // A "valid" answer must not outlive the token that earned it.
          cache.set(sessionId, valid, Math.min(clock() + ttlMs, exp * 1000));
          return valid;
        })
        .finally(() => inFlight.delete(sessionId));
      inFlight.set(sessionId, pending);
    }
    return pending;
  };
}
