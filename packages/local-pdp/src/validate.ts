/**
 * Small, typed readers for request bodies and query strings. Each failure is a 422 naming the
 * offending field, so a bad request never reaches the store.
 */
import { invalid } from "./errors";
import { isJsonObject, type Json, type JsonObject } from "./model";

/** Permit's schema keys are URL-friendly slugs. */
const SLUG = /^[A-Za-z0-9_-]{1,255}$/;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;
const MAX_KEY = 512;

export type Loc = (string | number)[];

export function checkSlug(value: string, loc: Loc): string {
  if (!SLUG.test(value)) invalidThrow(loc, "must be a URL-friendly key (letters, digits, '-' and '_')");
  if (value.startsWith("__")) invalidThrow(loc, "keys starting with '__' are reserved");
  return value;
}

/** User, tenant and instance keys: any printable string (ids from identity providers contain '|', '@', ':'). */
export function checkFactKey(value: string, loc: Loc): string {
  if (value.length === 0) invalidThrow(loc, "must not be empty");
  if (value.length > MAX_KEY) invalidThrow(loc, `must be at most ${MAX_KEY} characters`);
  if (CONTROL.test(value)) invalidThrow(loc, "must not contain control characters");
  return value;
}

function invalidThrow(loc: Loc, msg: string): never {
  throw invalid(loc, msg);
}

export class Fields {
  private constructor(
    private readonly obj: Record<string, unknown>,
    readonly loc: Loc,
  ) {}

  static of(value: unknown, loc: Loc = ["body"]): Fields {
    if (!isJsonObject(value)) invalidThrow(loc, "must be a JSON object");
    return new Fields(value as Record<string, unknown>, loc);
  }

  has(name: string): boolean {
    return this.obj[name] !== undefined && this.obj[name] !== null;
  }

  raw(name: string): unknown {
    return this.obj[name];
  }

  keys(): string[] {
    return Object.keys(this.obj);
  }

  private at(name: string): Loc {
    return [...this.loc, name];
  }

  str(name: string): string {
    const value = this.optStr(name);
    if (value === undefined) invalidThrow(this.at(name), "field required");
    return value;
  }

  optStr(name: string): string | undefined {
    const value = this.obj[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "string") invalidThrow(this.at(name), "must be a string");
    return value;
  }

  slug(name: string): string {
    return checkSlug(this.str(name), this.at(name));
  }

  factKey(name: string): string {
    return checkFactKey(this.str(name), this.at(name));
  }

  optBool(name: string): boolean | undefined {
    const value = this.obj[name];
    if (value === undefined || value === null) return undefined;
    if (typeof value !== "boolean") invalidThrow(this.at(name), "must be a boolean");
    return value;
  }

  optObject(name: string): JsonObject | undefined {
    const value = this.obj[name];
    if (value === undefined || value === null) return undefined;
    if (!isJsonObject(value)) invalidThrow(this.at(name), "must be a JSON object");
    return value as JsonObject;
  }

  optFields(name: string): Fields | undefined {
    const value = this.obj[name];
    if (value === undefined || value === null) return undefined;
    return Fields.of(value, this.at(name));
  }

  optStringArray(name: string): string[] | undefined {
    const value = this.obj[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) invalidThrow(this.at(name), "must be an array of strings");
    return value.map((item: unknown, i: number): string => {
      if (typeof item !== "string" || item.length === 0) invalidThrow([...this.at(name), i], "must be a non-empty string");
      return item;
    });
  }

  optArray(name: string): unknown[] | undefined {
    const value = this.obj[name];
    if (value === undefined || value === null) return undefined;
    if (!Array.isArray(value)) invalidThrow(this.at(name), "must be an array");
    return value;
  }
}

/** Query-string readers (Fastify hands query values over as strings or string arrays). */
export class Query {
  constructor(private readonly q: Record<string, unknown>) {}

  static of(value: unknown): Query {
    return new Query(isJsonObject(value) ? (value as Record<string, unknown>) : {});
  }

  str(name: string): string | undefined {
    const value = this.q[name];
    if (value === undefined) return undefined;
    if (typeof value !== "string") invalidThrow(["query", name], "must be given once");
    return value === "" ? undefined : value;
  }

  bool(name: string): boolean | undefined {
    const value = this.str(name);
    if (value === undefined) return undefined;
    if (value === "true" || value === "1") return true;
    if (value === "false" || value === "0") return false;
    invalidThrow(["query", name], "must be true or false");
  }

  int(name: string, fallback: number, min: number, max: number): number {
    const value = this.str(name);
    if (value === undefined) return fallback;
    if (!/^\d+$/.test(value)) invalidThrow(["query", name], "must be a whole number");
    const n = Number(value);
    if (n < min || n > max) invalidThrow(["query", name], `must be between ${min} and ${max}`);
    return n;
  }

  page(): { page: number; perPage: number } {
    return { page: this.int("page", 1, 1, 1_000_000), perPage: this.int("per_page", 30, 1, 100) };
  }
}

export function paginate<T>(items: T[], page: number, perPage: number): T[] {
  const start = (page - 1) * perPage;
  return items.slice(start, start + perPage);
}

export function deepEqual(a: Json | undefined, b: Json | undefined): boolean {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ak = Object.keys(a);
  const bk = Object.keys(b);
  if (ak.length !== bk.length) return false;
  for (const k of ak) if (!Object.prototype.hasOwnProperty.call(b, k) || !deepEqual(a[k], b[k])) return false;
  return true;
}
