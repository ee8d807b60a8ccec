/** Lookups and body parts shared by the schema routes. */
import { invalid, notFound } from "../../errors";
import type { ResourceDef, ResourceRoleDef } from "../../model";
import type { Store } from "../../store";
import { Fields, paginate, Query } from "../../validate";
import type { Req } from "../request";

export function findResource(store: Store, key: string): ResourceDef {
  const def = store.resources.get(key);
  if (!def) throw notFound(`resource '${key}'`);
  return def;
}

export function findResourceRole(store: Store, resource: string, key: string): ResourceRoleDef {
  const role = findResource(store, resource).roles[key];
  if (!role) throw notFound(`role '${key}' on resource '${resource}'`);
  return role;
}

/** The page of `items` the request's `page` and `per_page` ask for. */
export function pageOf<T>(req: Req, items: T[]): T[] {
  const { page, perPage } = Query.of(req.query).page();
  return paginate(items, page, perPage);
}

export function permissionsBody(body: unknown): string[] {
  const f = Fields.of(body);
  const permissions = f.optStringArray("permissions");
  if (!permissions) throw invalid(["body", "permissions"], "field required");
  return permissions;
}
