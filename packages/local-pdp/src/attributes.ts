/**
 * The attribute bag of one check (protocol §6.5), merged the way OPA's `object.union` does
 * (recursively for nested objects, later sources win):
 * - user: {key, email, first_name, last_name} < {roles, tenants} < stored attributes < check-time attributes
 * - resource: {type} < stored instance attributes < check-time attributes
 * - tenant: stored tenant attributes (only when the user has a role in it)
 * - context: the check's context
 */
import type { Bag } from "./conditions";
import { instanceId, isJsonObject, type Json, type JsonObject } from "./model";
import type { Store } from "./store";

export interface CheckUser {
  key: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  attributes?: JsonObject;
}

export interface CheckResource {
  type: string;
  key?: string;
  tenant?: string;
  attributes?: JsonObject;
}

export interface CheckInput {
  user: CheckUser;
  action: string;
  resource: CheckResource;
  context: JsonObject;
}

export function merge(base: JsonObject, over: JsonObject | undefined): JsonObject {
  if (!over) return base;
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const current: Json | undefined = out[k];
    out[k] = isJsonObject(current) && isJsonObject(v) ? merge(current, v) : v;
  }
  return out;
}

function defined(entries: [string, string | undefined][]): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of entries) if (v !== undefined) out[k] = v;
  return out;
}

/** Tenant roles of a user in one tenant, sorted for stable debug output. */
export function tenantRolesOf(store: Store, user: string, tenant: string | undefined): string[] {
  if (tenant === undefined) return [];
  const roles = store.tenantRoles.values(user, tenant);
  return roles ? [...roles].sort() : [];
}

export function userBag(store: Store, input: CheckInput): JsonObject {
  const stored = store.users.get(input.user.key);
  let bag = defined([
    ["key", input.user.key],
    ["email", stored?.email],
    ["first_name", stored?.first_name],
    ["last_name", stored?.last_name],
  ]);
  bag = merge(
    bag,
    defined([
      ["email", input.user.email],
      ["first_name", input.user.first_name],
      ["last_name", input.user.last_name],
    ]),
  );
  const tenants = [...(store.tenantRoles.get(input.user.key)?.keys() ?? [])].sort();
  bag = merge(bag, { roles: tenantRolesOf(store, input.user.key, input.resource.tenant), tenants });
  bag = merge(bag, stored?.attributes);
  return merge(bag, input.user.attributes);
}

/** Stored attributes of an instance, visible only to checks made in the instance's tenant. */
export function storedInstanceAttributes(store: Store, type: string, key: string, tenant: string | undefined): JsonObject | undefined {
  const instance = store.instances.get(instanceId(type, key));
  if (!instance || instance.tenant !== tenant) return undefined;
  return instance.attributes;
}

export function resourceBag(store: Store, input: CheckInput): JsonObject {
  const { type, key, tenant, attributes } = input.resource;
  let bag: JsonObject = { type };
  if (key !== undefined) bag = merge(bag, storedInstanceAttributes(store, type, key, tenant));
  return merge(bag, attributes);
}

export function tenantBag(store: Store, input: CheckInput): JsonObject {
  const tenant = input.resource.tenant;
  if (tenant === undefined || !store.tenantRoles.get(input.user.key)?.has(tenant)) return {};
  return store.tenants.get(tenant)?.attributes ?? {};
}

/** `user`: the user's bag when already built for the same user and tenant (evaluator.ts RequestMemo). */
export function buildBag(store: Store, input: CheckInput, user: JsonObject = userBag(store, input)): Bag {
  return {
    user,
    resource: resourceBag(store, input),
    tenant: tenantBag(store, input),
    context: input.context,
  };
}
