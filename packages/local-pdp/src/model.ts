/**
 * The records the local PDP keeps. Every record is treated as immutable: an update stores a
 * new object, which keeps rollback (see store.ts) a matter of putting the old object back.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** The ids the scope endpoint hands out; facts and schema paths must use exactly these. */
export const SCOPE = {
  organization_id: "org_local",
  project_id: "proj_local",
  environment_id: "env_local",
} as const;

/** The tenant every Permit environment starts with. */
export const DEFAULT_TENANT = "default";

/** Prefix of the implicit condition sets: `__autogen_<role>` (user set), `__autogen_<resource>` (resource set). */
export const AUTOGEN = "__autogen_";
/** The resource name Permit uses for tenant roles in derivations (not supported here). */
export const TENANT_PSEUDO_RESOURCE = "__tenant";

export interface Stamped {
  id: string;
  created_at: string;
  updated_at: string;
}

export interface ActionDef {
  id: string;
  key: string;
  name: string;
  description?: string;
  attributes?: JsonObject;
}

export type AttributeType = "bool" | "number" | "string" | "time" | "array" | "json";
export const ATTRIBUTE_TYPES: readonly AttributeType[] = ["bool", "number", "string", "time", "array", "json"];

export interface AttributeDef {
  id: string;
  key: string;
  type: AttributeType;
  description?: string;
}

/** "Users with role `role` on a `on_resource` instance linked by `linked_by_relation` get this role". */
export interface Derivation {
  role: string;
  on_resource: string;
  linked_by_relation: string;
  no_direct_roles_on_object: boolean;
}

export interface ResourceRoleDef extends Stamped {
  key: string;
  name: string;
  description?: string;
  /** Action keys of the owning resource. */
  permissions: string[];
  attributes?: JsonObject;
  derivations: Derivation[];
  /** Block-level `granted_to.when.no_direct_roles_on_object`. */
  no_direct_roles_on_object: boolean;
  granted_to_id: string;
}

/** A relation is defined on the object resource; `subject_resource` is the type of the tuple subject. */
export interface RelationDef extends Stamped {
  key: string;
  name: string;
  description?: string;
  subject_resource: string;
}

export interface ResourceDef extends Stamped {
  key: string;
  name: string;
  description?: string;
  urn?: string;
  actions: Record<string, ActionDef>;
  attributes: Record<string, AttributeDef>;
  roles: Record<string, ResourceRoleDef>;
  relations: Record<string, RelationDef>;
}

/** A tenant-level role; permissions are "<resource>:<action>". */
export interface RoleDef extends Stamped {
  key: string;
  name: string;
  description?: string;
  permissions: string[];
  attributes?: JsonObject;
}

export interface ConditionSetDef extends Stamped {
  key: string;
  name: string;
  description?: string;
  type: "userset" | "resourceset";
  resource_id?: string;
  conditions: JsonObject;
  parent_id?: string;
}

export interface SetRuleRec extends Stamped {
  user_set: string;
  permission: string;
  resource_set: string;
}

export interface TenantRec extends Stamped {
  key: string;
  name: string;
  description?: string;
  attributes: JsonObject;
}

export interface UserRec extends Stamped {
  key: string;
  email?: string;
  first_name?: string;
  last_name?: string;
  attributes: JsonObject;
}

export interface InstanceRec extends Stamped {
  key: string;
  /** Resource type key. */
  resource: string;
  tenant: string;
  attributes: JsonObject;
}

export interface AssignmentRec {
  id: string;
  user: string;
  role: string;
  tenant: string;
  /** "<type>:<key>" for a resource-instance role, absent for a tenant role. */
  resource_instance?: string;
  created_at: string;
}

export interface TupleRec extends Stamped {
  subject: string;
  relation: string;
  object: string;
  tenant: string;
}

/** "<type>:<key>", split on the first colon (keys may contain colons, types may not). */
export function instanceId(type: string, key: string): string {
  return `${type}:${key}`;
}

/** The type of an instance id: everything before its first colon. */
export function instanceType(id: string): string {
  return id.slice(0, id.indexOf(":"));
}

export function splitInstanceId(id: string): { type: string; key: string } | undefined {
  const at = id.indexOf(":");
  if (at <= 0 || at === id.length - 1) return undefined;
  return { type: id.slice(0, at), key: id.slice(at + 1) };
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
