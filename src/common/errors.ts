/**
 * The error taxonomy of the public contract. Every error a client sees carries one of these
 * codes in `extensions.code`; anything else is masked as INTERNAL_SERVER_ERROR in `formatError`.
 */
import { GraphQLError } from "graphql";

export const ErrorCode = {
  UNAUTHENTICATED: "UNAUTHENTICATED",
  FORBIDDEN: "FORBIDDEN",
  NOT_FOUND: "NOT_FOUND",
  BAD_USER_INPUT: "BAD_USER_INPUT",
  CONFLICT: "CONFLICT",
  AUTHZ_UNAVAILABLE: "AUTHZ_UNAVAILABLE",
  /** The server runs trusted documents only, and the operation's text is not one of them. */
  UNTRUSTED_DOCUMENT: "UNTRUSTED_DOCUMENT",
  /** A document id (or APQ hash) the server does not know. Apollo's own code for the same case. */
  PERSISTED_QUERY_NOT_FOUND: "PERSISTED_QUERY_NOT_FOUND",
  /** Too many requests (or too costly ones) for this user or, without a session, this IP; see `Retry-After`. */
  RATE_LIMITED: "RATE_LIMITED",
  /** A change feed cursor older than the log's retention: fetch the notes again from noteChangesHead. */
  RESYNC_REQUIRED: "RESYNC_REQUIRED",
  /** The database could not be reached; nothing was performed. Retry later (HTTP 503). */
  DATABASE_UNAVAILABLE: "DATABASE_UNAVAILABLE",
  INTERNAL_SERVER_ERROR: "INTERNAL_SERVER_ERROR",
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error whose message and code are safe to show to the client. */
export class AppError extends GraphQLError {
  constructor(readonly code: ErrorCode, message: string, extensions: Record<string, unknown> = {}, cause?: unknown) {
    super(message, { extensions: { ...extensions, code }, originalError: cause instanceof Error ? cause : undefined });
    this.name = "AppError";
    Object.setPrototypeOf(this, new.target.prototype);
  }
}

/**
 * The same error with more extensions, e.g. the `decisionId` of the denial it reports. The
 * code stays the error's own.
 */
export function withExtensions(error: AppError, extra: Record<string, unknown>): AppError {
  const { code: _code, ...extensions } = error.extensions;
  return new AppError(error.code, error.message, { ...extensions, ...extra }, error.originalError);
}

export const unauthenticated = (message = "A valid Hanko session is required.", reason?: string) =>
  new AppError(ErrorCode.UNAUTHENTICATED, message, reason ? { reason } : {});

export const forbidden = (message = "You are not allowed to do this.") => new AppError(ErrorCode.FORBIDDEN, message);

export const notFound = (what: string, id: string) =>
  new AppError(ErrorCode.NOT_FOUND, `${what} ${JSON.stringify(id)} was not found.`);

export const badInput = (message: string, field?: string) =>
  new AppError(ErrorCode.BAD_USER_INPUT, message, field ? { field } : {});

export const conflict = (message: string, extensions: Record<string, unknown> = {}) =>
  new AppError(ErrorCode.CONFLICT, message, extensions);

export const resyncRequired = () =>
  new AppError(ErrorCode.RESYNC_REQUIRED, "This cursor is older than the change log keeps: fetch the notes again, starting from noteChangesHead.");

export const authzUnavailable = (cause?: unknown) =>
  new AppError(ErrorCode.AUTHZ_UNAVAILABLE, "The authorization service could not be reached; the request was not performed.", {}, cause);

export const databaseUnavailable = (cause?: unknown) =>
  new AppError(ErrorCode.DATABASE_UNAVAILABLE, "The database could not be reached; the request was not performed.", { http: { status: 503 } }, cause);

export function isAppError(error: unknown): error is AppError {
  return error instanceof AppError;
}
