/**
 * Role assignments: tenant roles and resource-instance roles (creating the instance implicitly
 * when a tenant is given), one at a time (409 on duplicates, 404 on a missing one) or in bulks
 * that skip what already exists.
 */
import { duplicate, invalid, notFound } from "../errors";
import type { AssignmentRec } from "../model";
import { assignmentKey, type Store } from "../store";
import { getTenant, getUser, parseInstance, withIndex } from "./facts-lookup";
import type { AssignmentInput } from "./inputs";
import { ensureInstance } from "./resource-instances";

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

/** Assigns the role unless the user already has it (the initial roles of a created or replaced user). */
export function assignIfMissing(store: Store, at: string, input: AssignmentInput): void {
  if (!store.assignments.has(assignmentKey(resolveAssignment(store, input, false)))) assignRole(store, at, input);
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
