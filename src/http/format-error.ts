/**
 * The one place where errors are masked: codes of the contract pass through with their
 * message; anything else becomes INTERNAL_SERVER_ERROR with no stack, SQL or cause text.
 */
import type { GraphQLFormattedError } from "graphql";
import { unwrapResolverError } from "@apollo/server/errors";
import { ErrorCode } from "../common/errors";
import type { Logger } from "../common/logger";
import { isDatabaseUnavailable } from "../db/unavailable";

const PUBLIC_CODES = new Set<string>([
  ErrorCode.UNAUTHENTICATED,
  ErrorCode.FORBIDDEN,
  ErrorCode.NOT_FOUND,
  ErrorCode.BAD_USER_INPUT,
  ErrorCode.CONFLICT,
  ErrorCode.AUTHZ_UNAVAILABLE,
  ErrorCode.UNTRUSTED_DOCUMENT,
  ErrorCode.RATE_LIMITED,
  ErrorCode.DATABASE_UNAVAILABLE,
  ErrorCode.RESYNC_REQUIRED,
  // Apollo's own request errors (syntax, validation, unknown operation) are the client's to fix.
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_REQUEST",
  "OPERATION_RESOLUTION_FAILURE",
  ErrorCode.PERSISTED_QUERY_NOT_FOUND,
  "PERSISTED_QUERY_NOT_SUPPORTED",
]);

/** What an error becomes for the client, and what to log about it (nothing for a client's mistake). */
export interface PublicError {
  formatted: GraphQLFormattedError;
  log?: { level: "warn" | "error"; message: string; err: unknown };
}

export function toPublicError(formatted: GraphQLFormattedError, error: unknown): PublicError {
  const code = String(formatted.extensions?.code ?? "");
  if (PUBLIC_CODES.has(code)) {
    const { stacktrace: _stack, http: _http, ...extensions } = formatted.extensions ?? {};
    const result: PublicError = { formatted: { ...formatted, extensions: { ...extensions, code } } };
    if (code === ErrorCode.AUTHZ_UNAVAILABLE) result.log = { level: "warn", message: "authorization unavailable", err: unwrapResolverError(error) };
    return result;
  }
  if (isDatabaseUnavailable(unwrapResolverError(error))) {
    // A connection refused or cut, a timeout, the server shutting down: say so (HTTP 503), never mask it.
    return {
      formatted: {
        message: "The database could not be reached; the request was not performed.",
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.DATABASE_UNAVAILABLE },
      },
      log: { level: "warn", message: "database unavailable", err: unwrapResolverError(error) },
    };
  }
  return {
    formatted: { message: "Internal server error.", locations: formatted.locations, path: formatted.path, extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR } },
    log: { level: "error", message: "unexpected error", err: unwrapResolverError(error) },
  };
}

/** Masks and logs at once, on `logger` (a WebSocket connection's). */
export function createFormatError(logger: Logger) {
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const result = toPublicError(formatted, error);
    logPublicError(logger, result);
    return result.formatted;
  };
}

export function logPublicError(logger: Logger, { formatted, log }: PublicError): void {
  if (log) logger[log.level]({ err: log.err, path: formatted.path }, log.message);
}
