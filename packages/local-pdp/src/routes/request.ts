/** What the facts and schema routes share: the request type, paging, list bodies. */
import type { FastifyRequest } from "fastify";
import type { ScopeParams } from "../context";
import { invalid } from "../errors";
import { Fields, paginate } from "../validate";

export type Req<P = object> = FastifyRequest<{ Params: ScopeParams & P; Body: unknown; Querystring: unknown }>;

/** A page with Permit's `{data, total_count, page_count}` envelope. */
export function paginated<T>(items: T[], page: number, perPage: number): { data: T[]; total_count: number; page_count: number } {
  return {
    data: paginate(items, page, perPage),
    total_count: items.length,
    page_count: Math.max(1, Math.ceil(items.length / perPage)),
  };
}

export function parseList<T>(value: unknown, loc: (string | number)[], parse: (f: Fields) => T): T[] {
  if (!Array.isArray(value)) throw invalid(loc, "must be an array");
  return value.map((item: unknown, i: number) => parse(Fields.of(item, [...loc, i])));
}
