/** Input rules of the public contract. Each failure is a BAD_USER_INPUT naming the field. */
import { badInput } from "./errors";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID.test(value);
}

/** Ids are UUIDs; anything else cannot name an object, so it is refused before any lookup. */
export function requireId(value: string, field: string): string {
  if (!isUuid(value)) throw badInput(`${field} must be a valid id.`, field);
  return value.toLowerCase();
}

/** A required text that is trimmed before its length is checked (and stored trimmed). */
export function requireTrimmedText(value: string, field: string, max: number): string {
  const trimmed = value.trim();
  if (trimmed.length < 1 || trimmed.length > max) {
    throw badInput(`${field} must be 1 to ${max} characters long (after trimming).`, field);
  }
  return trimmed;
}

/** A free text kept exactly as written, up to a length. */
export function limitText(value: string, field: string, max: number): string {
  if (value.length > max) throw badInput(`${field} must be at most ${max} characters long.`, field);
  return value;
}

export function requireEmail(value: string, field: string): string {
  const email = value.trim().toLowerCase();
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
