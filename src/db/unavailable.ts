/**
 * Whether an error means "the database could not be reached or went away" (retry later), as
 * opposed to a query the database refused. Covers the driver's connection errors, pool and
 * query timeouts, and the server's own shutdown codes: 57P01 admin_shutdown, 57P02
 * crash_shutdown, 57P03 cannot_connect_now, and class 08 (connection exceptions).
 */
const NETWORK_CODES = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"]);
const SERVER_CODES = new Set(["57P01", "57P02", "57P03"]);
const MESSAGES = [
  /Connection terminated/i,
  /timeout exceeded when trying to connect/i,
  /Query read timeout/i,
  /Client has encountered a connection error/i,
  /Connection is not established/i,
  /the database system is (starting up|shutting down|in recovery mode)/i,
];

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (!error || typeof error !== "object" || depth > 5) return false;
  const e = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown; originalError?: unknown; errors?: unknown };
  const code = typeof e.code === "string" ? e.code : undefined;
  if (code && (NETWORK_CODES.has(code) || SERVER_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  if (typeof e.message === "string" && MESSAGES.some((m) => m.test(e.message as string))) return true;
  // AggregateError (a connect to several addresses), TypeORM's QueryFailedError, GraphQL's wrapping.
  if (Array.isArray(e.errors) && e.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return [e.driverError, e.cause, e.originalError].some((inner) => inner !== error && isDatabaseUnavailable(inner, depth + 1));
}
