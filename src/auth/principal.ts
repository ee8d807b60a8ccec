/**
 * The authenticated caller, as established from a verified Hanko session token. Everything
 * downstream (authorization, ownership, user sync) keys on `userId`, Hanko's user ID.
 */
export interface Principal {
  /** Hanko user ID: the token's `sub`, a lower-case UUID. */
  userId: string;
  /** Hanko session ID: the token's `session_id`, a lower-case UUID (the revocation handle). */
  sessionId: string;
  /**
   * The primary email from the token's `email.address` claim. A snapshot taken at login, absent
   * for users without an email; use it for display and sync, never for authorization.
   */
  email?: string;
  /** The token's `iat` (seconds since the epoch), when present: a webhook's email update beats older tokens. */
  issuedAt?: number;
  /** The token's `exp` (seconds since the epoch): a long-lived connection ends there (plus the clock tolerance). */
  expiresAt?: number;
}
