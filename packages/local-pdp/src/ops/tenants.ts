/** Tenant writes: idempotent creation, update, cascading delete, removal of a user from a tenant. */
import type { JsonObject, TenantRec } from "../model";
import type { Store } from "../store";
import { getTenant, getUser } from "./facts-lookup";
import { deleteInstanceCascade } from "./resource-instances";

/** Idempotent: an existing tenant is returned unchanged with created=false. */
export function createTenant(
  store: Store,
  at: string,
  input: { key: string; name?: string; description?: string; attributes?: JsonObject },
): { tenant: TenantRec; created: boolean } {
  const existing = store.tenants.get(input.key);
  if (existing) return { tenant: existing, created: false };
  const tenant: TenantRec = {
    id: store.nextId(),
    created_at: at,
    updated_at: at,
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    attributes: input.attributes ?? {},
  };
  store.putTenant(tenant);
  return { tenant, created: true };
}

export function updateTenant(
  store: Store,
  at: string,
  key: string,
  patch: { name?: string; description?: string; attributes?: JsonObject },
): TenantRec {
  const current = getTenant(store, key);
  const tenant: TenantRec = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    attributes: patch.attributes ?? current.attributes,
    updated_at: at,
  };
  store.putTenant(tenant);
  return tenant;
}

/** Deleting a tenant deletes its instances (with their roles and tuples) and its role assignments. */
export function deleteTenant(store: Store, key: string): void {
  getTenant(store, key);
  for (const id of store.instancesByTenant.list(key)) deleteInstanceCascade(store, id);
  for (const assignment of store.assignmentsByTenant.list(key)) store.removeAssignment(assignment);
  store.deleteTenantRecord(key);
}

/** DELETE /tenants/{t}/users/{u}: the user loses every role in that tenant. */
export function removeTenantUser(store: Store, tenant: string, user: string): void {
  getTenant(store, tenant);
  getUser(store, user);
  for (const key of store.assignmentsByUser.list(user)) {
    const assignment = store.assignments.get(key);
    if (assignment && assignment.tenant === tenant) store.removeAssignment(key);
  }
}
