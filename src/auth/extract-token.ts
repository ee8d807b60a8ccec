/**
 * Finds the Hanko session token in a request. Native and mobile clients send
 * `Authorization: Bearer <jwt>`; browsers on the same site send the `hanko` cookie (set by Hanko
 * itself or by its frontend SDK). The header wins, as in Hanko's own session middleware.
 */
import { unauthenticated } from "../common/errors";

export const SESSION_COOKIE_NAME = "hanko";

/** RFC 6750 `b64token`: what a Bearer credential may contain. */
const BEARER_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

export interface TokenSourceHeaders {
  authorization?: string;
  cookie?: string;
}

/**
 * Returns the session token, or undefined when the request carries none (an anonymous caller).
 * A present Authorization header that is not a well-formed Bearer credential is rejected rather
 * than ignored: silently falling back to the cookie would hide a client bug and let a stale
 * cookie authenticate a request the client meant to send with other credentials.
 */
export function extractSessionToken(headers: TokenSourceHeaders): string | undefined {
  const { authorization } = headers;
  if (authorization !== undefined) {
    return parseBearer(authorization);
  }
  if (headers.cookie) {
    const value = readCookie(headers.cookie, SESSION_COOKIE_NAME);
    return value === undefined || value === "" ? undefined : value;
  }
  return undefined;
}

function parseBearer(header: string): string {
  const trimmed = header.trim();
  const space = trimmed.search(/\s/);
  const scheme = space === -1 ? trimmed : trimmed.slice(0, space);
  const credential = space === -1 ? "" : trimmed.slice(space).trim();
  // The auth scheme is case-insensitive (RFC 9110 §11.1).
  if (scheme.toLowerCase() !== "bearer") {
    throw unauthenticated("The Authorization header must use the Bearer scheme.", "malformed_authorization");
  }
  if (credential === "" || !BEARER_TOKEN.test(credential)) {
    throw unauthenticated("The Authorization header must carry a Bearer token.", "malformed_authorization");
  }
  return credential;
}

/**
 * Reads one cookie from a `Cookie` header (RFC 6265 §5.4 syntax, lenient like browsers and the
 * `cookie` package: pairs separated by `;`, the first `=` splits name from value, optional
 * double quotes, percent-decoding when valid). When a name repeats, the first occurrence wins:
 * browsers send the most specific path first.
 */
export function readCookie(header: string, name: string): string | undefined {
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1) continue;
    if (pair.slice(0, eq).trim() !== name) continue;
    let value = pair.slice(eq + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    return decodeCookieValue(value);
  }
  return undefined;
}

function decodeCookieValue(value: string): string {
  if (!value.includes("%")) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
