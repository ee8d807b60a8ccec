/** Lookups and helpers shared by the schema writes. */
import { invalid, notFound } from "../../errors";
import type { ResourceDef, ResourceRoleDef, RoleDef } from "../../model";
import type { Store } from "../../store";

export function getResource(store: Store, key: string): ResourceDef {
  const def = store.resources.get(key);
  if (!def) throw notFound(`resource '${key}'`);
  return def;
}

export function getRoleDef(store: Store, key: string): RoleDef {
  const def = store.roles.get(key);
  if (!def) throw notFound(`role '${key}'`);
  return def;
}

export function getResourceRole(store: Store, resource: string, key: string): ResourceRoleDef {
  const def = getResource(store, resource).roles[key];
  if (!def) throw notFound(`role '${key}' on resource '${resource}'`);
  return def;
}

export function stamp(store: Store, at: string): { id: string; created_at: string; updated_at: string } {
  return { id: store.nextId(), created_at: at, updated_at: at };
}

export function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  const copy = { ...record };
  delete copy[key];
  return copy;
}

/** "<resource>:<action>" checked against the schema. */
export function checkPermission(store: Store, permission: string): { resource: string; action: string } {
  const at = permission.indexOf(":");
  if (at <= 0) throw invalid(["body", "permissions"], `'${permission}' is not "<resource>:<action>"`);
  const resource = permission.slice(0, at);
  const action = permission.slice(at + 1);
  const def = getResource(store, resource);
  if (!def.actions[action]) throw notFound(`action '${action}' on resource '${resource}'`);
  return { resource, action };
}

/** Resource-role permissions are action keys of the role's own resource ("note:read" is accepted too). */
export function resourceRolePermission(def: ResourceDef, permission: string): string {
  const action = permission.startsWith(`${def.key}:`) ? permission.slice(def.key.length + 1) : permission;
  if (!def.actions[action]) throw notFound(`action '${action}' on resource '${def.key}'`);
  return action;
}

export function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}
