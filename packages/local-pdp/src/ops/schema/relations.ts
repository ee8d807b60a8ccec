/** Relations of a resource; deleting one deletes its tuples and the derivations through it. */
import { duplicate, notFound } from "../../errors";
import type { RelationDef, ResourceRoleDef } from "../../model";
import { tupleKey, type Store } from "../../store";
import { getResource, stamp, withoutKey } from "./lookup";

export function createRelation(
  store: Store,
  at: string,
  resource: string,
  input: { key: string; name?: string; description?: string; subject_resource: string },
): RelationDef {
  const def = getResource(store, resource);
  if (def.relations[input.key]) throw duplicate(`relation '${input.key}' on resource '${resource}'`);
  getResource(store, input.subject_resource);
  const relation: RelationDef = {
    ...stamp(store, at),
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    subject_resource: input.subject_resource,
  };
  const current = getResource(store, resource);
  store.putResource({ ...current, relations: { ...current.relations, [input.key]: relation }, updated_at: at });
  return relation;
}

/** Deleting a relation deletes its tuples and the derivations that ran through it. */
export function deleteRelation(store: Store, at: string, resource: string, key: string): void {
  const def = getResource(store, resource);
  if (!def.relations[key]) throw notFound(`relation '${key}' on resource '${resource}'`);
  for (const object of store.instancesByType.list(resource)) {
    for (const subject of [...(store.tuplesByObject.values(object, key) ?? [])]) {
      store.removeTuple(tupleKey({ subject, relation: key, object }));
    }
  }
  const roles: Record<string, ResourceRoleDef> = {};
  for (const [roleKey, role] of Object.entries(def.roles)) {
    roles[roleKey] = { ...role, derivations: role.derivations.filter((d) => d.linked_by_relation !== key) };
  }
  store.putResource({ ...def, roles, relations: withoutKey(def.relations, key), updated_at: at });
}
