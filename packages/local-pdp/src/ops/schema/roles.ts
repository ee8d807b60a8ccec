/** Tenant roles and their permissions ("<resource>:<action>"). */
import { duplicate } from "../../errors";
import { AUTOGEN, type RoleDef } from "../../model";
import type { Store } from "../../store";
import type { RoleInput } from "../inputs";
import { checkPermission, getRoleDef, stamp, union } from "./lookup";

export function createRole(store: Store, at: string, input: RoleInput): RoleDef {
  if (store.roles.has(input.key)) throw duplicate(`role '${input.key}'`);
  const permissions = union([], input.permissions ?? []);
  for (const p of permissions) checkPermission(store, p);
  const role: RoleDef = {
    ...stamp(store, at),
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    permissions,
    attributes: input.attributes,
  };
  store.putRole(role);
  return role;
}

export function updateRole(store: Store, at: string, key: string, patch: Omit<RoleInput, "key">): RoleDef {
  const current = getRoleDef(store, key);
  const permissions = patch.permissions ? union([], patch.permissions) : current.permissions;
  for (const p of permissions) checkPermission(store, p);
  const next: RoleDef = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    attributes: patch.attributes ?? current.attributes,
    permissions,
    updated_at: at,
  };
  store.putRole(next);
  return next;
}

/** Idempotent: permissions already granted are skipped. */
export function addRolePermissions(store: Store, at: string, key: string, permissions: string[]): RoleDef {
  const current = getRoleDef(store, key);
  for (const p of permissions) checkPermission(store, p);
  const next = union(current.permissions, permissions);
  if (next.length === current.permissions.length) return current;
  const role = { ...current, permissions: next, updated_at: at };
  store.putRole(role);
  return role;
}

export function removeRolePermissions(store: Store, at: string, key: string, permissions: string[]): RoleDef {
  const current = getRoleDef(store, key);
  const next = current.permissions.filter((p) => !permissions.includes(p));
  if (next.length === current.permissions.length) return current;
  const role = { ...current, permissions: next, updated_at: at };
  store.putRole(role);
  return role;
}

export function deleteRole(store: Store, key: string): void {
  getRoleDef(store, key);
  for (const assignment of store.assignmentsByRole.list(key)) store.removeAssignment(assignment);
  for (const rule of [...store.setRules.values()]) if (rule.user_set === `${AUTOGEN}${key}`) store.deleteSetRule(rule);
  store.deleteRoleRecord(key);
}
