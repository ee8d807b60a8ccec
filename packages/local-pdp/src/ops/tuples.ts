/**
 * Relationship tuples: checked against the object's relations, with implicit instances when a
 * tenant is given; subject and object must be in the same tenant. Bulks skip what exists.
 */
import { badRequest, duplicate, notFound } from "../errors";
import type { InstanceRec, TupleRec } from "../model";
import { tupleKey, type Store } from "../store";
import { parseInstance, withIndex } from "./facts-lookup";
import type { TupleInput } from "./inputs";
import { ensureInstance } from "./resource-instances";

function resolveTuple(store: Store, at: string, input: TupleInput): TupleRec {
  const object = parseInstance(input.object, "object");
  const subject = parseInstance(input.subject, "subject");
  const objectResource = store.resources.get(object.type);
  if (!objectResource) throw notFound(`resource '${object.type}'`);
  if (!store.resources.has(subject.type)) throw notFound(`resource '${subject.type}'`);
  const relation = objectResource.relations[input.relation];
  if (!relation) throw notFound(`relation '${input.relation}' on resource '${object.type}'`);
  if (relation.subject_resource !== subject.type) {
    throw badRequest(
      `relation '${input.relation}' on '${object.type}' takes subjects of type '${relation.subject_resource}', not '${subject.type}'`,
      "MISMATCH_RELATION_TYPE",
    );
  }
  const subjectInstance = ensureInstance(store, at, input.subject, "subject", input.tenant, true) as InstanceRec;
  const objectInstance = ensureInstance(store, at, input.object, "object", input.tenant, true) as InstanceRec;
  if (subjectInstance.tenant !== objectInstance.tenant) {
    throw badRequest(
      `subject '${input.subject}' (tenant '${subjectInstance.tenant}') and object '${input.object}' (tenant '${objectInstance.tenant}') are in different tenants`,
      "MISMATCH_RESOURCE_INSTANCES_TENANTS",
    );
  }
  return {
    id: "",
    created_at: at,
    updated_at: at,
    subject: input.subject,
    relation: input.relation,
    object: input.object,
    tenant: objectInstance.tenant,
  };
}

export function createTuple(store: Store, at: string, input: TupleInput): TupleRec {
  const tuple = resolveTuple(store, at, input);
  if (store.tuples.has(tupleKey(tuple))) throw duplicate(`relationship tuple (${input.subject}, ${input.relation}, ${input.object})`);
  const rec: TupleRec = { ...tuple, id: store.nextId() };
  store.addTuple(rec);
  return rec;
}

export function deleteTuple(store: Store, input: TupleInput): void {
  const key = tupleKey(input);
  if (!store.tuples.has(key)) throw notFound(`relationship tuple (${input.subject}, ${input.relation}, ${input.object})`);
  store.removeTuple(key);
}

/** Creates the missing tuples; existing ones are skipped. All-or-nothing on errors. */
export function bulkCreateTuples(store: Store, at: string, inputs: TupleInput[]): { operations: number; created: number } {
  let created = 0;
  inputs.forEach((input, i) => {
    const tuple = withIndex(i, () => resolveTuple(store, at, input));
    if (store.tuples.has(tupleKey(tuple))) return;
    store.addTuple({ ...tuple, id: store.nextId() });
    created += 1;
  });
  return { operations: inputs.length, created };
}

export function bulkDeleteTuples(store: Store, inputs: TupleInput[]): { operations: number; deleted: number } {
  let deleted = 0;
  for (const input of inputs) {
    const key = tupleKey(input);
    if (store.tuples.has(key)) {
      store.removeTuple(key);
      deleted += 1;
    }
  }
  return { operations: inputs.length, deleted };
}
