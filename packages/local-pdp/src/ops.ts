/**
 * Every write is an operation: a plain, JSON-serialisable record of the validated request plus
 * its timestamp. The same `applyOp` runs live and when the journal is replayed after a
 * restart, so a replay rebuilds exactly the state that was acknowledged.
 */
import type { JsonObject } from "./model";
import {
  addRolePermissions,
  createConditionSet,
  createDerivation,
  createRelation,
  createResource,
  createResourceAction,
  createResourceAttribute,
  createResourceRole,
  createRole,
  createSetRule,
  deleteConditionSet,
  deleteDerivation,
  deleteRelation,
  deleteResource,
  deleteResourceAction,
  deleteResourceAttribute,
  deleteResourceRole,
  deleteRole,
  deleteSetRule,
  removeRolePermissions,
  replaceResource,
  setDerivationConditions,
  updateConditionSet,
  updateResource,
  updateResourceRole,
  updateRole,
} from "./schema-ops";
import {
  assignRole,
  bulkAssign,
  bulkCreateTuples,
  bulkDeleteTuples,
  bulkUnassign,
  createInstance,
  createTenant,
  createTuple,
  createUser,
  deleteInstance,
  deleteTenant,
  deleteTuple,
  deleteUser,
  removeTenantUser,
  replaceUser,
  unassignRole,
  updateInstance,
  updateTenant,
  updateUser,
} from "./facts-ops";
import type { Store } from "./store";

export interface WhenInput {
  no_direct_roles_on_object?: boolean;
}
export interface DerivationInput {
  role: string;
  on_resource: string;
  linked_by_relation: string;
  when?: WhenInput;
}
export interface GrantedToInput {
  users_with_role?: DerivationInput[];
  when?: WhenInput;
}
export interface ResourceRoleInput {
  key: string;
  name?: string;
  description?: string;
  permissions?: string[];
  attributes?: JsonObject;
  granted_to?: GrantedToInput;
}
export interface ActionInput {
  name?: string;
  description?: string;
  attributes?: JsonObject;
}
export interface AttributeInput {
  type: string;
  description?: string;
}
export interface ResourceBody {
  name?: string;
  description?: string;
  urn?: string;
  actions?: Record<string, ActionInput>;
  attributes?: Record<string, AttributeInput>;
  roles?: ResourceRoleInput[];
  relations?: Record<string, string>;
}
export interface RoleInput {
  key: string;
  name?: string;
  description?: string;
  permissions?: string[];
  attributes?: JsonObject;
}
export interface ConditionSetInput {
  key: string;
  name?: string;
  description?: string;
  type: "userset" | "resourceset";
  resource_id?: string;
  conditions?: JsonObject;
  parent_id?: string;
}
export interface SetRuleInput {
  user_set: string;
  permission: string;
  resource_set: string;
  is_role?: boolean;
  is_resource?: boolean;
}
export interface UserRoleInput {
  role: string;
  tenant?: string;
  resource_instance?: string;
}
export interface UserInput {
  key: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  attributes?: JsonObject;
  role_assignments?: UserRoleInput[];
}
export interface AssignmentInput {
  user: string;
  role: string;
  tenant?: string;
  resource_instance?: string;
}
export interface TupleInput {
  subject: string;
  relation: string;
  object: string;
  tenant?: string;
}

export type Op = { at: string } & (
  | { t: "resource.create"; key: string; body: ResourceBody }
  | { t: "resource.replace"; key: string; body: ResourceBody }
  | { t: "resource.update"; key: string; body: ResourceBody }
  | { t: "resource.delete"; key: string }
  | { t: "action.create"; resource: string; key: string; action: ActionInput }
  | { t: "action.delete"; resource: string; key: string }
  | { t: "attribute.create"; resource: string; key: string; attribute: AttributeInput }
  | { t: "attribute.delete"; resource: string; key: string }
  | { t: "role.create"; role: RoleInput }
  | { t: "role.update"; key: string; patch: Omit<RoleInput, "key"> }
  | { t: "role.delete"; key: string }
  | { t: "role.permissions.add"; key: string; permissions: string[] }
  | { t: "role.permissions.remove"; key: string; permissions: string[] }
  | { t: "rrole.create"; resource: string; role: ResourceRoleInput }
  | { t: "rrole.update"; resource: string; key: string; patch: Omit<ResourceRoleInput, "key"> }
  | { t: "rrole.delete"; resource: string; key: string }
  | { t: "rrole.permissions.add"; resource: string; key: string; permissions: string[] }
  | { t: "rrole.permissions.remove"; resource: string; key: string; permissions: string[] }
  | { t: "derivation.create"; resource: string; role: string; rule: DerivationInput }
  | { t: "derivation.delete"; resource: string; role: string; rule: DerivationInput }
  | { t: "derivation.conditions"; resource: string; role: string; when: WhenInput }
  | { t: "relation.create"; resource: string; key: string; name?: string; description?: string; subject_resource: string }
  | { t: "relation.delete"; resource: string; key: string }
  | { t: "cset.create"; set: ConditionSetInput }
  | { t: "cset.update"; key: string; name?: string; description?: string; conditions?: JsonObject; parent_id?: string | null }
  | { t: "cset.delete"; key: string }
  | { t: "setrule.create"; rule: SetRuleInput }
  | { t: "setrule.delete"; rule: SetRuleInput }
  | { t: "user.create"; user: UserInput }
  | { t: "user.replace"; user: UserInput }
  | { t: "user.update"; key: string; email?: string; first_name?: string; last_name?: string; attributes?: JsonObject }
  | { t: "user.delete"; key: string }
  | { t: "tenant.create"; key: string; name?: string; description?: string; attributes?: JsonObject }
  | { t: "tenant.update"; key: string; name?: string; description?: string; attributes?: JsonObject }
  | { t: "tenant.delete"; key: string }
  | { t: "tenant.user.delete"; tenant: string; user: string }
  | { t: "instance.create"; key: string; resource: string; tenant?: string; attributes?: JsonObject }
  | { t: "instance.update"; id: string; attributes?: JsonObject }
  | { t: "instance.delete"; id: string }
  | { t: "assignment.create"; assignment: AssignmentInput }
  | { t: "assignment.delete"; assignment: AssignmentInput }
  | { t: "assignment.bulkCreate"; assignments: AssignmentInput[] }
  | { t: "assignment.bulkDelete"; assignments: AssignmentInput[] }
  | { t: "tuple.create"; tuple: TupleInput }
  | { t: "tuple.delete"; tuple: TupleInput }
  | { t: "tuple.bulkCreate"; tuples: TupleInput[] }
  | { t: "tuple.bulkDelete"; tuples: TupleInput[] }
);

/** Distributes `Omit` over the union so callers can build an op without its timestamp. */
export type OpBody = Op extends infer O ? (O extends { at: string } ? Omit<O, "at"> : never) : never;

/** Applies one operation to the store (inside its transaction). Throws ApiError on bad input. */
export function applyOp(store: Store, op: Op): unknown {
  switch (op.t) {
    case "resource.create":
      return createResource(store, op.at, op.key, op.body);
    case "resource.replace":
      return replaceResource(store, op.at, op.key, op.body);
    case "resource.update":
      return updateResource(store, op.at, op.key, op.body);
    case "resource.delete":
      return deleteResource(store, op.at, op.key);
    case "action.create":
      return createResourceAction(store, op.at, op.resource, op.key, op.action);
    case "action.delete":
      return deleteResourceAction(store, op.at, op.resource, op.key);
    case "attribute.create":
      return createResourceAttribute(store, op.at, op.resource, op.key, op.attribute);
    case "attribute.delete":
      return deleteResourceAttribute(store, op.at, op.resource, op.key);
    case "role.create":
      return createRole(store, op.at, op.role);
    case "role.update":
      return updateRole(store, op.at, op.key, op.patch);
    case "role.delete":
      return deleteRole(store, op.key);
    case "role.permissions.add":
      return addRolePermissions(store, op.at, op.key, op.permissions);
    case "role.permissions.remove":
      return removeRolePermissions(store, op.at, op.key, op.permissions);
    case "rrole.create":
      return createResourceRole(store, op.at, op.resource, op.role);
    case "rrole.update":
      return updateResourceRole(store, op.at, op.resource, op.key, op.patch);
    case "rrole.delete":
      return deleteResourceRole(store, op.at, op.resource, op.key);
    case "rrole.permissions.add":
      return updateResourceRole(store, op.at, op.resource, op.key, {}, { add: op.permissions });
    case "rrole.permissions.remove":
      return updateResourceRole(store, op.at, op.resource, op.key, {}, { remove: op.permissions });
    case "derivation.create":
      return createDerivation(store, op.at, op.resource, op.role, op.rule);
    case "derivation.delete":
      return deleteDerivation(store, op.at, op.resource, op.role, op.rule);
    case "derivation.conditions":
      return setDerivationConditions(store, op.at, op.resource, op.role, op.when);
    case "relation.create":
      return createRelation(store, op.at, op.resource, { key: op.key, name: op.name, description: op.description, subject_resource: op.subject_resource });
    case "relation.delete":
      return deleteRelation(store, op.at, op.resource, op.key);
    case "cset.create":
      return createConditionSet(store, op.at, op.set);
    case "cset.update":
      return updateConditionSet(store, op.at, op.key, op);
    case "cset.delete":
      return deleteConditionSet(store, op.key);
    case "setrule.create":
      return createSetRule(store, op.at, op.rule);
    case "setrule.delete":
      return deleteSetRule(store, op.rule);
    case "user.create":
      return createUser(store, op.at, op.user);
    case "user.replace":
      return replaceUser(store, op.at, op.user);
    case "user.update":
      return updateUser(store, op.at, op.key, op);
    case "user.delete":
      return deleteUser(store, op.key);
    case "tenant.create":
      return createTenant(store, op.at, op);
    case "tenant.update":
      return updateTenant(store, op.at, op.key, op);
    case "tenant.delete":
      return deleteTenant(store, op.key);
    case "tenant.user.delete":
      return removeTenantUser(store, op.tenant, op.user);
    case "instance.create":
      return createInstance(store, op.at, op);
    case "instance.update":
      return updateInstance(store, op.at, op.id, op.attributes);
    case "instance.delete":
      return deleteInstance(store, op.id);
    case "assignment.create":
      return assignRole(store, op.at, op.assignment);
    case "assignment.delete":
      return unassignRole(store, op.assignment);
    case "assignment.bulkCreate":
      return bulkAssign(store, op.at, op.assignments);
    case "assignment.bulkDelete":
      return bulkUnassign(store, op.assignments);
    case "tuple.create":
      return createTuple(store, op.at, op.tuple);
    case "tuple.delete":
      return deleteTuple(store, op.tuple);
    case "tuple.bulkCreate":
      return bulkCreateTuples(store, op.at, op.tuples);
    case "tuple.bulkDelete":
      return bulkDeleteTuples(store, op.tuples);
  }
}
