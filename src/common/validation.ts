/** Input rules of the public contract. Each failure is a BAD_USER_INPUT naming the field. */
import { badInput } from "./errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Ids are UUIDs; anything else (the empty string too) cannot name an object, so it is refused before any lookup. */
export function requireId(value: string, field: string): string {
  if (!isUuid(value)) throw badInput(`${field} must be a valid id.`, field);
  return value.toLowerCase();
}

/** An id argument that may be omitted or null; given, it must be valid (`""` is not "absent"). */
export function optionalId(value: string | null | undefined, field: string): string | null {
  return value === undefined || value === null ? null : requireId(value, field);
}

/**
 * Text is stored losslessly or refused: PostgreSQL cannot store U+0000, and a lone surrogate
 * would be replaced on the way in. Both are refused rather than altered.
 */
function requireStorable(value: string, field: string): string {
  if (value.includes("\u0000")) throw badInput(`${field} must not contain NUL characters.`, field);
  if (!value.isWellFormed()) throw badInput(`${field} must be well-formed Unicode (no lone surrogates).`, field);
  return value;
}

/** A required text that is trimmed before its length is checked (and stored trimmed). */
export function requireTrimmedText(value: string, field: string, max: number): string {
  const trimmed = requireStorable(value, field).trim();
  if (trimmed.length < 1 || trimmed.length > max) {
    throw badInput(`${field} must be 1 to ${max} characters long (after trimming).`, field);
  }
  return trimmed;
}

/** A free text kept exactly as written, up to a length. */
export function limitText(value: string, field: string, max: number): string {
  requireStorable(value, field);
  if (value.length > max) throw badInput(`${field} must be at most ${max} characters long.`, field);
  return value;
}

export function requireEmail(value: string, field: string): string {
  const email = requireStorable(value, field).trim().toLowerCase();
  if (email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) throw badInput(`${field} must be an email address.`, field);
  return email;
}

export const NOTE_TITLE_MAX = 200;
export const NOTE_BODY_MAX = 100_000;
export const WORKSPACE_NAME_MAX = 100;
export const PAGE_SIZE_MAX = 100;

export function requirePageSize(first: number): number {
  if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX) {
    throw badInput(`first must be between 1 and ${PAGE_SIZE_MAX}.`, "first");
  }
  return first;
}
