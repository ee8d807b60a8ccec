/**
 * The validated inputs of write operations, as the routes parse them from request bodies and
 * as the journal stores them (plain JSON).
 */
import type { JsonObject } from "../model";

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
