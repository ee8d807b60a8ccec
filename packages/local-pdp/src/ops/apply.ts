/** Dispatches an operation (op.ts) to the module that validates and applies it. */
import type { Store } from "../store";
import type { Op } from "./op";
import { assignRole, bulkAssign, bulkUnassign, unassignRole } from "./role-assignments";
import { createInstance, deleteInstance, updateInstance } from "./resource-instances";
import { createResourceAction, deleteResourceAction } from "./schema/actions";
import { createResourceAttribute, deleteResourceAttribute } from "./schema/attributes";
import { createConditionSet, deleteConditionSet, updateConditionSet } from "./schema/condition-sets";
import { createDerivation, deleteDerivation, setDerivationConditions } from "./schema/derivations";
import { createRelation, deleteRelation } from "./schema/relations";
import { createResourceRole, deleteResourceRole, updateResourceRole } from "./schema/resource-roles";
import { createResource, deleteResource, replaceResource, updateResource } from "./schema/resources";
import { addRolePermissions, createRole, deleteRole, removeRolePermissions, updateRole } from "./schema/roles";
import { createSetRule, deleteSetRule } from "./schema/set-rules";
import { createTenant, deleteTenant, removeTenantUser, updateTenant } from "./tenants";
import { bulkCreateTuples, bulkDeleteTuples, createTuple, deleteTuple } from "./tuples";
import { createUser, deleteUser, replaceUser, updateUser } from "./users";

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
