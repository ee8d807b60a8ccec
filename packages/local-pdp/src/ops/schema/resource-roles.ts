/** Roles of a resource (instance roles), their permissions and their derivations (`granted_to`). */
import { duplicate } from "../../errors";
import type { ResourceRoleDef } from "../../model";
import { resourceRoleRef, type Store } from "../../store";
import type { ResourceRoleInput } from "../inputs";
import { derivationsFrom } from "./derivations";
import { getResource, getResourceRole, resourceRolePermission, stamp, union, withoutKey } from "./lookup";

export function createResourceRole(store: Store, at: string, resource: string, input: ResourceRoleInput): ResourceRoleDef {
  const def = getResource(store, resource);
  if (def.roles[input.key]) throw duplicate(`role '${input.key}' on resource '${resource}'`);
  const role: ResourceRoleDef = {
    ...stamp(store, at),
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    permissions: union([], (input.permissions ?? []).map((p) => resourceRolePermission(def, p))),
    attributes: input.attributes,
    // A role may derive from itself on another instance (folder#viewer from parent folder#viewer),
    // so the role exists before its derivations are checked.
    derivations: [],
    no_direct_roles_on_object: input.granted_to?.when?.no_direct_roles_on_object === true,
    granted_to_id: store.nextId(),
  };
  store.putResource({ ...def, roles: { ...def.roles, [input.key]: role }, updated_at: at });
  if (input.granted_to) {
    const derivations = derivationsFrom(store, resource, input.granted_to);
    const current = getResource(store, resource);
    store.putResource({ ...current, roles: { ...current.roles, [input.key]: { ...role, derivations } } });
  }
  return getResourceRole(store, resource, input.key);
}

export function updateResourceRole(
  store: Store,
  at: string,
  resource: string,
  key: string,
  patch: Omit<ResourceRoleInput, "key">,
  permissionChange?: { add?: string[]; remove?: string[] },
): ResourceRoleDef {
  const def = getResource(store, resource);
  const current = getResourceRole(store, resource, key);
  let permissions = patch.permissions ? union([], patch.permissions.map((p) => resourceRolePermission(def, p))) : current.permissions;
  if (permissionChange?.add) permissions = union(permissions, permissionChange.add.map((p) => resourceRolePermission(def, p)));
  if (permissionChange?.remove) {
    const removed = new Set(permissionChange.remove.map((p) => (p.startsWith(`${resource}:`) ? p.slice(resource.length + 1) : p)));
    permissions = permissions.filter((p) => !removed.has(p));
  }
  const next: ResourceRoleDef = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    attributes: patch.attributes ?? current.attributes,
    permissions,
    // granted_to in a PATCH replaces the derivations (Permit's documented behaviour).
    derivations: patch.granted_to ? derivationsFrom(store, resource, patch.granted_to) : current.derivations,
    no_direct_roles_on_object: patch.granted_to
      ? patch.granted_to.when?.no_direct_roles_on_object === true
      : current.no_direct_roles_on_object,
    updated_at: at,
  };
  if (permissionChange && samePermissions(current.permissions, next.permissions)) return current;
  const fresh = getResource(store, resource);
  store.putResource({ ...fresh, roles: { ...fresh.roles, [key]: next } });
  return next;
}

function samePermissions(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}

/** Removes assignments of a resource role and every derivation that starts from it. */
export function removeResourceRoleReferences(store: Store, resource: string, roleKey: string): void {
  for (const key of store.assignmentsByRole.list(resourceRoleRef(resource, roleKey))) store.removeAssignment(key);
  for (const other of [...store.resources.values()]) {
    let changed = false;
    const roles: Record<string, ResourceRoleDef> = {};
    for (const [k, role] of Object.entries(other.roles)) {
      const kept = role.derivations.filter((d) => !(d.on_resource === resource && d.role === roleKey));
      if (kept.length !== role.derivations.length) changed = true;
      roles[k] = kept.length === role.derivations.length ? role : { ...role, derivations: kept };
    }
    if (changed) store.putResource({ ...other, roles });
  }
}

export function deleteResourceRole(store: Store, at: string, resource: string, key: string): void {
  getResourceRole(store, resource, key);
  removeResourceRoleReferences(store, resource, key);
  const def = getResource(store, resource);
  store.putResource({ ...def, roles: withoutKey(def.roles, key), updated_at: at });
}
