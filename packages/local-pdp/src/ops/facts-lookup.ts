/** Lookups and helpers shared by the fact writes (users, tenants, instances, assignments, tuples). */
import { invalid, notFound } from "../errors";
import { splitInstanceId, type TenantRec, type UserRec } from "../model";
import type { Store } from "../store";

export function parseInstance(id: string, field: string): { type: string; key: string } {
  const parts = splitInstanceId(id);
  if (!parts) throw invalid(["body", field], `'${id}' is not "<resource>:<key>"`);
  return parts;
}

export function getTenant(store: Store, key: string): TenantRec {
  const tenant = store.tenants.get(key);
  if (!tenant) throw notFound(`tenant '${key}'`);
  return tenant;
}

export function getUser(store: Store, key: string): UserRec {
  const user = store.users.get(key);
  if (!user) throw notFound(`user '${key}'`);
  return user;
}

/** Prefixes an error from item i of a bulk with its index, so the client can find it. */
export function withIndex<T>(i: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error) err.message = `item ${i}: ${err.message}`;
    throw err;
  }
}
