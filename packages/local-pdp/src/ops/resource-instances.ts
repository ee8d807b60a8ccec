/**
 * Resource instance writes: idempotent creation in a tenant, update, cascading delete, and the
 * implicit creation of an instance named by a role assignment or tuple with a tenant.
 */
import { badRequest, conflict, invalid, notFound } from "../errors";
import { instanceId, type InstanceRec, type JsonObject } from "../model";
import type { Store } from "../store";
import { getTenant, parseInstance } from "./facts-lookup";

function newInstance(store: Store, at: string, type: string, key: string, tenant: string, attributes: JsonObject): InstanceRec {
  const instance: InstanceRec = { id: store.nextId(), created_at: at, updated_at: at, key, resource: type, tenant, attributes };
  store.putInstance(instance);
  return instance;
}

/** Idempotent in the same tenant (returns the existing instance, created=false); 409 in another. */
export function createInstance(
  store: Store,
  at: string,
  input: { key: string; resource: string; tenant?: string; attributes?: JsonObject },
): { instance: InstanceRec; created: boolean } {
  if (!store.resources.has(input.resource)) throw notFound(`resource '${input.resource}'`);
  if (!input.tenant) throw invalid(["body", "tenant"], "field required");
  getTenant(store, input.tenant);
  const existing = store.instances.get(instanceId(input.resource, input.key));
  if (existing) {
    if (existing.tenant !== input.tenant) {
      throw conflict(`resource instance '${input.resource}:${input.key}' exists in tenant '${existing.tenant}'`);
    }
    return { instance: existing, created: false };
  }
  return { instance: newInstance(store, at, input.resource, input.key, input.tenant, input.attributes ?? {}), created: true };
}

export function updateInstance(store: Store, at: string, id: string, attributes: JsonObject | undefined): InstanceRec {
  const current = store.instances.get(id);
  if (!current) throw notFound(`resource instance '${id}'`);
  if (attributes === undefined) return current;
  const instance: InstanceRec = { ...current, attributes, updated_at: at };
  store.putInstance(instance);
  return instance;
}

/** Removes an instance with its role assignments and every tuple it is part of. */
export function deleteInstanceCascade(store: Store, id: string): void {
  for (const key of store.assignmentsByInstance.list(id)) store.removeAssignment(key);
  for (const key of store.tupleKeysOf(id)) store.removeTuple(key);
  store.deleteInstanceRecord(id);
}

export function deleteInstance(store: Store, id: string): void {
  if (!store.instances.has(id)) throw notFound(`resource instance '${id}'`);
  deleteInstanceCascade(store, id);
}

/**
 * The instance named by a role assignment or tuple. A missing instance is created when a
 * tenant is given (Permit's implicit creation) and is a 404 otherwise.
 */
export function ensureInstance(store: Store, at: string, id: string, field: string, tenant: string | undefined, create: boolean): InstanceRec | undefined {
  const { type, key } = parseInstance(id, field);
  if (!store.resources.has(type)) throw notFound(`resource '${type}'`);
  const existing = store.instances.get(id);
  if (existing) {
    if (tenant !== undefined && tenant !== existing.tenant) {
      throw badRequest(
        `resource instance '${id}' belongs to tenant '${existing.tenant}', not '${tenant}'`,
        "MISMATCH_RESOURCE_INSTANCES_TENANTS",
      );
    }
    return existing;
  }
  if (tenant === undefined) throw notFound(`resource instance '${id}'`);
  getTenant(store, tenant);
  return create ? newInstance(store, at, type, key, tenant, {}) : undefined;
}
