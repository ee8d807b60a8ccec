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

/** `logger`: the request's own logger when one is current (its lines then carry `reqId`). */
export function createFormatError(logger: Logger | (() => Logger)) {
  const log = typeof logger === "function" ? logger : () => logger;
  return (formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError => {
    const logger = log();
    const code = String(formatted.extensions?.code ?? "");
    if (PUBLIC_CODES.has(code)) {
      const { stacktrace: _stack, http: _http, ...extensions } = formatted.extensions ?? {};
      if (code === ErrorCode.AUTHZ_UNAVAILABLE) logger.warn({ err: unwrapResolverError(error), path: formatted.path }, "authorization unavailable");
      return { ...formatted, extensions: { ...extensions, code } };
    }
    if (isDatabaseUnavailable(unwrapResolverError(error))) {
      // A connection refused or cut, a timeout, the server shutting down: say so (HTTP 503), never mask it.
      logger.warn({ err: unwrapResolverError(error), path: formatted.path }, "database unavailable");
      return {
        message: "The database could not be reached; the request was not performed.",
        locations: formatted.locations,
        path: formatted.path,
        extensions: { code: ErrorCode.DATABASE_UNAVAILABLE },
      };
    }
    logger.error({ err: unwrapResolverError(error), path: formatted.path }, "unexpected error");
    return {
      message: "Internal server error.",
      locations: formatted.locations,
      path: formatted.path,
      extensions: { code: ErrorCode.INTERNAL_SERVER_ERROR },
    };
  };
}
