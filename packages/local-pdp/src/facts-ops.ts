/**
 * Fact writes: users, tenants, resource instances, role assignments and relationship tuples,
 * with Permit's status semantics (409 on duplicates, idempotent tenant and instance creation,
 * implicit instances when a tenant is given, cascading deletes).
 */
import { badRequest, conflict, duplicate, invalid, notFound } from "./errors";
import { splitInstanceId, type AssignmentRec, type InstanceRec, type JsonObject, type TenantRec, type TupleRec, type UserRec } from "./model";
import type { AssignmentInput, TupleInput, UserInput } from "./ops";
import { assignmentKey, tupleKey, type Store } from "./store";

function parseInstance(id: string, field: string): { type: string; key: string } {
  const parts = splitInstanceId(id);
  if (!parts) throw invalid(["body", field], `'${id}' is not "<resource>:<key>"`);
  return parts;
}

function getTenant(store: Store, key: string): TenantRec {
  const tenant = store.tenants.get(key);
  if (!tenant) throw notFound(`tenant '${key}'`);
  return tenant;
}

function getUser(store: Store, key: string): UserRec {
  const user = store.users.get(key);
  if (!user) throw notFound(`user '${key}'`);
  return user;
}

// ------------------------------------------------------------ users

function userRecord(store: Store, at: string, input: UserInput, previous?: UserRec): UserRec {
  return {
    id: previous?.id ?? store.nextId(),
    created_at: previous?.created_at ?? at,
    updated_at: at,
    key: input.key,
    email: input.email,
    first_name: input.first_name,
    last_name: input.last_name,
    attributes: input.attributes ?? {},
  };
}

function assignInitialRoles(store: Store, at: string, input: UserInput): void {
  for (const r of input.role_assignments ?? []) {
    const assignment: AssignmentInput = { user: input.key, role: r.role, tenant: r.tenant, resource_instance: r.resource_instance };
    if (!store.assignments.has(assignmentKey(resolveAssignment(store, assignment, false)))) assignRole(store, at, assignment);
  }
}

export function createUser(store: Store, at: string, input: UserInput): UserRec {
  if (store.users.has(input.key)) throw duplicate(`user '${input.key}'`);
  const user = userRecord(store, at, input);
  store.putUser(user);
  assignInitialRoles(store, at, input);
  return user;
}

/** PUT /users/{key}: create or replace the whole user (role assignments are only ever added). */
export function replaceUser(store: Store, at: string, input: UserInput): { user: UserRec; created: boolean } {
  const previous = store.users.get(input.key);
  const user = userRecord(store, at, input, previous);
  const unchanged =
    previous !== undefined &&
    previous.email === user.email &&
    previous.first_name === user.first_name &&
    previous.last_name === user.last_name &&
    JSON.stringify(previous.attributes) === JSON.stringify(user.attributes);
  if (!unchanged) store.putUser(user);
  assignInitialRoles(store, at, input);
  return { user: unchanged ? previous : user, created: previous === undefined };
}

export function updateUser(
  store: Store,
  at: string,
  key: string,
  patch: { email?: string; first_name?: string; last_name?: string; attributes?: JsonObject },
): UserRec {
  const current = getUser(store, key);
  const user: UserRec = {
    ...current,
    email: patch.email ?? current.email,
    first_name: patch.first_name ?? current.first_name,
    last_name: patch.last_name ?? current.last_name,
    attributes: patch.attributes ?? current.attributes,
    updated_at: at,
  };
  store.putUser(user);
  return user;
}

export function deleteUser(store: Store, key: string): void {
  getUser(store, key);
  for (const assignment of store.assignmentsByUser.list(key)) store.removeAssignment(assignment);
  store.deleteUserRecord(key);
}

// ------------------------------------------------------------ tenants

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

// ------------------------------------------------------------ resource instances

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
  const existing = store.instances.get(`${input.resource}:${input.key}`);
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
function ensureInstance(store: Store, at: string, id: string, field: string, tenant: string | undefined, create: boolean): InstanceRec | undefined {
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

// ------------------------------------------------------------ role assignments

/** Validates an assignment and returns its stored form; with `create`, implicit instances are created. */
function resolveAssignment(store: Store, input: AssignmentInput, create: boolean, at = ""): AssignmentRec {
  getUser(store, input.user);
  if (input.resource_instance !== undefined) {
    const { type } = parseInstance(input.resource_instance, "resource_instance");
    const resource = store.resources.get(type);
    if (!resource) throw notFound(`resource '${type}'`);
    if (!resource.roles[input.role]) throw notFound(`role '${input.role}' on resource '${type}'`);
    const instance = ensureInstance(store, at, input.resource_instance, "resource_instance", input.tenant, create);
    const tenant = instance?.tenant ?? input.tenant ?? "";
    return { id: "", user: input.user, role: input.role, tenant, resource_instance: input.resource_instance, created_at: at };
  }
  if (input.tenant === undefined) throw invalid(["body", "tenant"], "a tenant role assignment needs a tenant");
  getTenant(store, input.tenant);
  if (!store.roles.has(input.role)) throw notFound(`role '${input.role}'`);
  return { id: "", user: input.user, role: input.role, tenant: input.tenant, created_at: at };
}

export function assignRole(store: Store, at: string, input: AssignmentInput): AssignmentRec {
  const resolved = resolveAssignment(store, input, true, at);
  if (store.assignments.has(assignmentKey(resolved))) {
    const where = resolved.resource_instance ?? `tenant '${resolved.tenant}'`;
    throw duplicate(`role '${resolved.role}' for user '${resolved.user}' on ${where}`);
  }
  const assignment: AssignmentRec = { ...resolved, id: store.nextId() };
  store.addAssignment(assignment);
  return assignment;
}

/** The stored assignment matching an unassign body, or undefined. */
function findAssignment(store: Store, input: AssignmentInput): string | undefined {
  let tenant = input.tenant;
  if (input.resource_instance !== undefined) {
    parseInstance(input.resource_instance, "resource_instance");
    const instance = store.instances.get(input.resource_instance);
    if (!instance) return undefined;
    if (tenant !== undefined && tenant !== instance.tenant) return undefined;
    tenant = instance.tenant;
  } else if (tenant === undefined) {
    throw invalid(["body", "tenant"], "a tenant role assignment needs a tenant");
  }
  const key = assignmentKey({ user: input.user, role: input.role, tenant, resource_instance: input.resource_instance });
  return store.assignments.has(key) ? key : undefined;
}

export function unassignRole(store: Store, input: AssignmentInput): void {
  const key = findAssignment(store, input);
  if (!key) {
    throw notFound(`role assignment of '${input.role}' to user '${input.user}' on ${input.resource_instance ?? `tenant '${input.tenant}'`}`);
  }
  store.removeAssignment(key);
}

/** Creates the missing ones; assignments that already exist are skipped (counted as not created). */
export function bulkAssign(store: Store, at: string, inputs: AssignmentInput[]): { assignments_created: number } {
  let created = 0;
  inputs.forEach((input, i) => {
    const resolved = withIndex(i, () => resolveAssignment(store, input, true, at));
    if (store.assignments.has(assignmentKey(resolved))) return;
    store.addAssignment({ ...resolved, id: store.nextId() });
    created += 1;
  });
  return { assignments_created: created };
}

export function bulkUnassign(store: Store, inputs: AssignmentInput[]): { assignments_removed: number } {
  let removed = 0;
  inputs.forEach((input, i) => {
    const key = withIndex(i, () => findAssignment(store, input));
    if (key && store.assignments.has(key)) {
      store.removeAssignment(key);
      removed += 1;
    }
  });
  return { assignments_removed: removed };
}

/** Prefixes an error from item i of a bulk with its index, so the client can find it. */
function withIndex<T>(i: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error) err.message = `item ${i}: ${err.message}`;
    throw err;
  }
}

// ------------------------------------------------------------ relationship tuples

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
