/**
 * Schema writes: resources (actions, attributes, roles, relations), tenant roles, role
 * derivations, condition sets and set rules. Each function validates against the current
 * state and mutates through the store's primitives; deletes cascade the way Permit's do, so
 * no dangling reference survives a delete.
 */
import { compileConditions } from "./conditions";
import { badRequest, conflict, duplicate, invalid, notFound } from "./errors";
import {
  ATTRIBUTE_TYPES,
  type ActionDef,
  type AttributeDef,
  type AttributeType,
  type ConditionSetDef,
  type Derivation,
  type JsonObject,
  type RelationDef,
  type ResourceDef,
  type ResourceRoleDef,
  type RoleDef,
  type SetRuleRec,
} from "./model";
import type {
  ActionInput,
  AttributeInput,
  ConditionSetInput,
  DerivationInput,
  GrantedToInput,
  ResourceBody,
  ResourceRoleInput,
  RoleInput,
  SetRuleInput,
  WhenInput,
} from "./ops";
import { deleteInstanceCascade } from "./facts-ops";
import { resourceRoleRef, setRuleKey, tupleKey, type Store } from "./store";

export const AUTOGEN = "__autogen_";
export const TENANT_PSEUDO_RESOURCE = "__tenant";

export function getResource(store: Store, key: string): ResourceDef {
  const def = store.resources.get(key);
  if (!def) throw notFound(`resource '${key}'`);
  return def;
}

function getRoleDef(store: Store, key: string): RoleDef {
  const def = store.roles.get(key);
  if (!def) throw notFound(`role '${key}'`);
  return def;
}

function getResourceRole(store: Store, resource: string, key: string): ResourceRoleDef {
  const def = getResource(store, resource).roles[key];
  if (!def) throw notFound(`role '${key}' on resource '${resource}'`);
  return def;
}

function stamp(store: Store, at: string): { id: string; created_at: string; updated_at: string } {
  return { id: store.nextId(), created_at: at, updated_at: at };
}

function withoutKey<T>(record: Record<string, T>, key: string): Record<string, T> {
  const copy = { ...record };
  delete copy[key];
  return copy;
}

// ------------------------------------------------------------ permissions

/** "<resource>:<action>" checked against the schema. */
function checkPermission(store: Store, permission: string): { resource: string; action: string } {
  const at = permission.indexOf(":");
  if (at <= 0) throw invalid(["body", "permissions"], `'${permission}' is not "<resource>:<action>"`);
  const resource = permission.slice(0, at);
  const action = permission.slice(at + 1);
  const def = getResource(store, resource);
  if (!def.actions[action]) throw notFound(`action '${action}' on resource '${resource}'`);
  return { resource, action };
}

/** Resource-role permissions are action keys of the role's own resource ("note:read" is accepted too). */
function resourceRolePermission(def: ResourceDef, permission: string): string {
  const action = permission.startsWith(`${def.key}:`) ? permission.slice(def.key.length + 1) : permission;
  if (!def.actions[action]) throw notFound(`action '${action}' on resource '${def.key}'`);
  return action;
}

function union(a: string[], b: string[]): string[] {
  return [...new Set([...a, ...b])];
}

// ------------------------------------------------------------ resources

function buildActions(store: Store, input: Record<string, ActionInput>): Record<string, ActionDef> {
  const actions: Record<string, ActionDef> = {};
  for (const [key, a] of Object.entries(input)) {
    actions[key] = { id: store.nextId(), key, name: a.name ?? key, description: a.description, attributes: a.attributes };
  }
  return actions;
}

function buildAttributes(store: Store, input: Record<string, AttributeInput>): Record<string, AttributeDef> {
  const attributes: Record<string, AttributeDef> = {};
  for (const [key, a] of Object.entries(input)) {
    if (!ATTRIBUTE_TYPES.includes(a.type as AttributeType)) {
      throw invalid(["body", "attributes", key, "type"], `must be one of ${ATTRIBUTE_TYPES.join(", ")}`);
    }
    attributes[key] = { id: store.nextId(), key, type: a.type as AttributeType, description: a.description };
  }
  return attributes;
}

export function createResource(store: Store, at: string, key: string, body: ResourceBody): ResourceDef {
  if (store.resources.has(key)) throw duplicate(`resource '${key}'`);
  const def: ResourceDef = {
    ...stamp(store, at),
    key,
    name: body.name ?? key,
    description: body.description,
    urn: body.urn,
    actions: buildActions(store, body.actions ?? {}),
    attributes: buildAttributes(store, body.attributes ?? {}),
    roles: {},
    relations: {},
  };
  store.putResource(def);
  applyNested(store, at, key, body);
  return getResource(store, key);
}

/**
 * Inline relations first (inline roles may derive through them), then inline roles (upserted)
 * without their derivations, then the derivations: roles of one body may derive from each other.
 */
function applyNested(store: Store, at: string, key: string, body: ResourceBody): void {
  for (const [relation, subject] of Object.entries(body.relations ?? {})) {
    if (getResource(store, key).relations[relation]) continue;
    createRelation(store, at, key, { key: relation, subject_resource: subject });
  }
  for (const role of body.roles ?? []) {
    const withoutDerivations = { ...role, granted_to: undefined };
    if (getResource(store, key).roles[role.key]) updateResourceRole(store, at, key, role.key, withoutDerivations);
    else createResourceRole(store, at, key, withoutDerivations);
  }
  for (const role of body.roles ?? []) {
    if (role.granted_to) updateResourceRole(store, at, key, role.key, { granted_to: role.granted_to });
  }
}

/** PUT replaces name, description, urn, actions and attributes; inline roles and relations are upserted. */
export function replaceResource(store: Store, at: string, key: string, body: ResourceBody): ResourceDef {
  const current = getResource(store, key);
  const actions: Record<string, ActionDef> = {};
  for (const [actionKey, a] of Object.entries(body.actions ?? {})) {
    const existing = current.actions[actionKey];
    actions[actionKey] = existing
      ? { ...existing, name: a.name ?? actionKey, description: a.description, attributes: a.attributes }
      : buildActions(store, { [actionKey]: a })[actionKey];
  }
  const attributes: Record<string, AttributeDef> = {};
  for (const [attrKey, a] of Object.entries(body.attributes ?? {})) {
    const existing = current.attributes[attrKey];
    attributes[attrKey] =
      existing && existing.type === a.type ? { ...existing, description: a.description } : buildAttributes(store, { [attrKey]: a })[attrKey];
  }
  for (const removed of Object.keys(current.actions).filter((a) => !actions[a])) purgeAction(store, at, key, removed);
  store.putResource({
    ...getResource(store, key),
    name: body.name ?? current.name,
    description: body.description,
    urn: body.urn,
    actions,
    attributes,
    updated_at: at,
  });
  applyNested(store, at, key, body);
  return getResource(store, key);
}

/** PATCH merges: given actions and attributes are added or updated, nothing is removed. */
export function updateResource(store: Store, at: string, key: string, body: ResourceBody): ResourceDef {
  const current = getResource(store, key);
  const actions = { ...current.actions };
  for (const [actionKey, a] of Object.entries(body.actions ?? {})) {
    const existing = actions[actionKey];
    actions[actionKey] = existing
      ? { ...existing, name: a.name ?? existing.name, description: a.description ?? existing.description, attributes: a.attributes ?? existing.attributes }
      : buildActions(store, { [actionKey]: a })[actionKey];
  }
  const attributes = { ...current.attributes };
  for (const [attrKey, a] of Object.entries(body.attributes ?? {})) {
    const existing = attributes[attrKey];
    attributes[attrKey] =
      existing && existing.type === a.type
        ? { ...existing, description: a.description ?? existing.description }
        : buildAttributes(store, { [attrKey]: a })[attrKey];
  }
  store.putResource({
    ...current,
    name: body.name ?? current.name,
    description: body.description ?? current.description,
    urn: body.urn ?? current.urn,
    actions,
    attributes,
    updated_at: at,
  });
  applyNested(store, at, key, body);
  return getResource(store, key);
}

export function createResourceAction(store: Store, at: string, resource: string, key: string, input: ActionInput): ActionDef {
  const def = getResource(store, resource);
  if (def.actions[key]) throw duplicate(`action '${key}' on resource '${resource}'`);
  const action = buildActions(store, { [key]: input })[key];
  store.putResource({ ...def, actions: { ...def.actions, [key]: action }, updated_at: at });
  return action;
}

export function deleteResourceAction(store: Store, at: string, resource: string, key: string): void {
  const def = getResource(store, resource);
  if (!def.actions[key]) throw notFound(`action '${key}' on resource '${resource}'`);
  purgeAction(store, at, resource, key);
  const current = getResource(store, resource);
  store.putResource({ ...current, actions: withoutKey(current.actions, key), updated_at: at });
}

export function createResourceAttribute(store: Store, at: string, resource: string, key: string, input: AttributeInput): AttributeDef {
  const def = getResource(store, resource);
  if (def.attributes[key]) throw duplicate(`attribute '${key}' on resource '${resource}'`);
  const attribute = buildAttributes(store, { [key]: input })[key];
  store.putResource({ ...def, attributes: { ...def.attributes, [key]: attribute }, updated_at: at });
  return attribute;
}

export function deleteResourceAttribute(store: Store, at: string, resource: string, key: string): void {
  const def = getResource(store, resource);
  if (!def.attributes[key]) throw notFound(`attribute '${key}' on resource '${resource}'`);
  store.putResource({ ...def, attributes: withoutKey(def.attributes, key), updated_at: at });
}

/** Removes every grant of one action: tenant roles, the resource's roles and set rules. */
function purgeAction(store: Store, at: string, resource: string, action: string): void {
  const permission = `${resource}:${action}`;
  for (const role of [...store.roles.values()]) {
    if (role.permissions.includes(permission)) {
      store.putRole({ ...role, permissions: role.permissions.filter((p) => p !== permission), updated_at: at });
    }
  }
  const def = getResource(store, resource);
  const roles: Record<string, ResourceRoleDef> = {};
  for (const [key, role] of Object.entries(def.roles)) roles[key] = { ...role, permissions: role.permissions.filter((p) => p !== action) };
  store.putResource({ ...def, roles });
  for (const rule of [...store.setRules.values()]) if (rule.permission === permission) store.deleteSetRule(rule);
}

export function deleteResource(store: Store, at: string, key: string): void {
  const def = getResource(store, key);
  for (const id of store.instancesByType.list(key)) deleteInstanceCascade(store, id);
  for (const role of [...store.roles.values()]) {
    const kept = role.permissions.filter((p) => !p.startsWith(`${key}:`));
    if (kept.length !== role.permissions.length) store.putRole({ ...role, permissions: kept });
  }
  for (const roleKey of Object.keys(def.roles)) removeResourceRoleReferences(store, key, roleKey);
  // Relations elsewhere whose subject is this resource (their tuples went with the instances).
  for (const other of [...store.resources.values()]) {
    if (other.key === key) continue;
    for (const relation of Object.values(other.relations)) {
      if (relation.subject_resource === key) deleteRelation(store, at, other.key, relation.key);
    }
  }
  for (const set of [...store.conditionSets.values()]) {
    if (set.resource_id === key) deleteConditionSetCascade(store, set.key);
  }
  for (const rule of [...store.setRules.values()]) {
    if (rule.permission.startsWith(`${key}:`) || rule.resource_set === `${AUTOGEN}${key}`) store.deleteSetRule(rule);
  }
  store.deleteResourceRecord(key);
}

// ------------------------------------------------------------ relations

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

// ------------------------------------------------------------ resource roles and derivations

function checkDerivation(store: Store, resource: string, rule: DerivationInput): Derivation {
  if (rule.on_resource === TENANT_PSEUDO_RESOURCE) {
    throw invalid(["body", "on_resource"], "derivations from tenant roles ('__tenant') are not supported by the local PDP");
  }
  const source = getResource(store, rule.on_resource);
  if (!source.roles[rule.role]) throw notFound(`role '${rule.role}' on resource '${rule.on_resource}'`);
  const relation = getResource(store, resource).relations[rule.linked_by_relation];
  if (!relation) throw notFound(`relation '${rule.linked_by_relation}' on resource '${resource}'`);
  if (relation.subject_resource !== rule.on_resource) {
    throw badRequest(
      `relation '${rule.linked_by_relation}' on '${resource}' links '${relation.subject_resource}', not '${rule.on_resource}'`,
      "MISMATCH_RELATION_TYPE",
    );
  }
  return {
    role: rule.role,
    on_resource: rule.on_resource,
    linked_by_relation: rule.linked_by_relation,
    no_direct_roles_on_object: rule.when?.no_direct_roles_on_object === true,
  };
}

function sameDerivation(a: Derivation | DerivationInput, b: Derivation | DerivationInput): boolean {
  return a.role === b.role && a.on_resource === b.on_resource && a.linked_by_relation === b.linked_by_relation;
}

function derivationsFrom(store: Store, resource: string, grantedTo: GrantedToInput): Derivation[] {
  const out: Derivation[] = [];
  for (const rule of grantedTo.users_with_role ?? []) {
    const derivation = checkDerivation(store, resource, rule);
    if (!out.some((d) => sameDerivation(d, derivation))) out.push(derivation);
  }
  return out;
}

export function createResourceRole(store: Store, at: string, resource: string, input: ResourceRoleInput): ResourceRoleDef {
  const def = getResource(store, resource);
  if (def.roles[input.key]) throw duplicate(`role '${input.key}' on resource '${resource}'`);
  const role: ResourceRoleDef = {
    ...stamp(store, at),
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    permissions: union([], (input.permissions ?? []).map((p) => resourceRolePermission(def, p))),
    attributes: input.attributes,
    // A role may derive from itself on another instance (folder#viewer from parent folder#viewer),
    // so the role exists before its derivations are checked.
    derivations: [],
    no_direct_roles_on_object: input.granted_to?.when?.no_direct_roles_on_object === true,
    granted_to_id: store.nextId(),
  };
  store.putResource({ ...def, roles: { ...def.roles, [input.key]: role }, updated_at: at });
  if (input.granted_to) {
    const derivations = derivationsFrom(store, resource, input.granted_to);
    const current = getResource(store, resource);
    store.putResource({ ...current, roles: { ...current.roles, [input.key]: { ...role, derivations } } });
  }
  return getResourceRole(store, resource, input.key);
}

export function updateResourceRole(
  store: Store,
  at: string,
  resource: string,
  key: string,
  patch: Omit<ResourceRoleInput, "key">,
  permissionChange?: { add?: string[]; remove?: string[] },
): ResourceRoleDef {
  const def = getResource(store, resource);
  const current = getResourceRole(store, resource, key);
  let permissions = patch.permissions ? union([], patch.permissions.map((p) => resourceRolePermission(def, p))) : current.permissions;
  if (permissionChange?.add) permissions = union(permissions, permissionChange.add.map((p) => resourceRolePermission(def, p)));
  if (permissionChange?.remove) {
    const removed = new Set(permissionChange.remove.map((p) => (p.startsWith(`${resource}:`) ? p.slice(resource.length + 1) : p)));
    permissions = permissions.filter((p) => !removed.has(p));
  }
  const next: ResourceRoleDef = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    attributes: patch.attributes ?? current.attributes,
    permissions,
    // granted_to in a PATCH replaces the derivations (Permit's documented behaviour).
    derivations: patch.granted_to ? derivationsFrom(store, resource, patch.granted_to) : current.derivations,
    no_direct_roles_on_object: patch.granted_to
      ? patch.granted_to.when?.no_direct_roles_on_object === true
      : current.no_direct_roles_on_object,
    updated_at: at,
  };
  if (permissionChange && samePermissions(current.permissions, next.permissions)) return current;
  const fresh = getResource(store, resource);
  store.putResource({ ...fresh, roles: { ...fresh.roles, [key]: next } });
  return next;
}

function samePermissions(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((p) => b.includes(p));
}

/** Removes assignments of a resource role and every derivation that starts from it. */
function removeResourceRoleReferences(store: Store, resource: string, roleKey: string): void {
  for (const key of store.assignmentsByRole.list(resourceRoleRef(resource, roleKey))) store.removeAssignment(key);
  for (const other of [...store.resources.values()]) {
    let changed = false;
    const roles: Record<string, ResourceRoleDef> = {};
    for (const [k, role] of Object.entries(other.roles)) {
      const kept = role.derivations.filter((d) => !(d.on_resource === resource && d.role === roleKey));
      if (kept.length !== role.derivations.length) changed = true;
      roles[k] = kept.length === role.derivations.length ? role : { ...role, derivations: kept };
    }
    if (changed) store.putResource({ ...other, roles });
  }
}

export function deleteResourceRole(store: Store, at: string, resource: string, key: string): void {
  getResourceRole(store, resource, key);
  removeResourceRoleReferences(store, resource, key);
  const def = getResource(store, resource);
  store.putResource({ ...def, roles: withoutKey(def.roles, key), updated_at: at });
}

export interface DerivationRead {
  role_id: string;
  resource_id: string;
  relation_id: string;
  role: string;
  on_resource: string;
  linked_by_relation: string;
}

function derivationRead(store: Store, resource: string, d: Derivation): DerivationRead {
  const source = getResource(store, d.on_resource);
  return {
    role_id: source.roles[d.role]?.id ?? "",
    resource_id: source.id,
    relation_id: getResource(store, resource).relations[d.linked_by_relation]?.id ?? "",
    role: d.role,
    on_resource: d.on_resource,
    linked_by_relation: d.linked_by_relation,
  };
}

export function derivationReads(store: Store, resource: string, role: ResourceRoleDef): DerivationRead[] {
  return role.derivations.map((d) => derivationRead(store, resource, d));
}

/** Idempotent: deriving the same rule twice keeps one rule. */
export function createDerivation(store: Store, at: string, resource: string, roleKey: string, rule: DerivationInput): DerivationRead {
  const role = getResourceRole(store, resource, roleKey);
  const derivation = checkDerivation(store, resource, rule);
  const existing = role.derivations.find((d) => sameDerivation(d, derivation));
  if (existing && existing.no_direct_roles_on_object === derivation.no_direct_roles_on_object) {
    return derivationRead(store, resource, existing);
  }
  const derivations = [...role.derivations.filter((d) => !sameDerivation(d, derivation)), derivation];
  const def = getResource(store, resource);
  store.putResource({ ...def, roles: { ...def.roles, [roleKey]: { ...role, derivations, updated_at: at } } });
  return derivationRead(store, resource, derivation);
}

export function deleteDerivation(store: Store, at: string, resource: string, roleKey: string, rule: DerivationInput): void {
  const role = getResourceRole(store, resource, roleKey);
  if (!role.derivations.some((d) => sameDerivation(d, rule))) {
    throw notFound(`derivation of '${resource}#${roleKey}' from '${rule.on_resource}#${rule.role}' via '${rule.linked_by_relation}'`);
  }
  const def = getResource(store, resource);
  const derivations = role.derivations.filter((d) => !sameDerivation(d, rule));
  store.putResource({ ...def, roles: { ...def.roles, [roleKey]: { ...role, derivations, updated_at: at } } });
}

export function setDerivationConditions(store: Store, at: string, resource: string, roleKey: string, when: WhenInput): WhenInput {
  const role = getResourceRole(store, resource, roleKey);
  const value = when.no_direct_roles_on_object === true;
  if (role.no_direct_roles_on_object !== value) {
    const def = getResource(store, resource);
    store.putResource({ ...def, roles: { ...def.roles, [roleKey]: { ...role, no_direct_roles_on_object: value, updated_at: at } } });
  }
  return { no_direct_roles_on_object: value };
}

// ------------------------------------------------------------ tenant roles

export function createRole(store: Store, at: string, input: RoleInput): RoleDef {
  if (store.roles.has(input.key)) throw duplicate(`role '${input.key}'`);
  const permissions = union([], input.permissions ?? []);
  for (const p of permissions) checkPermission(store, p);
  const role: RoleDef = {
    ...stamp(store, at),
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    permissions,
    attributes: input.attributes,
  };
  store.putRole(role);
  return role;
}

export function updateRole(store: Store, at: string, key: string, patch: Omit<RoleInput, "key">): RoleDef {
  const current = getRoleDef(store, key);
  const permissions = patch.permissions ? union([], patch.permissions) : current.permissions;
  for (const p of permissions) checkPermission(store, p);
  const next: RoleDef = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    attributes: patch.attributes ?? current.attributes,
    permissions,
    updated_at: at,
  };
  store.putRole(next);
  return next;
}

/** Idempotent: permissions already granted are skipped. */
export function addRolePermissions(store: Store, at: string, key: string, permissions: string[]): RoleDef {
  const current = getRoleDef(store, key);
  for (const p of permissions) checkPermission(store, p);
  const next = union(current.permissions, permissions);
  if (next.length === current.permissions.length) return current;
  const role = { ...current, permissions: next, updated_at: at };
  store.putRole(role);
  return role;
}

export function removeRolePermissions(store: Store, at: string, key: string, permissions: string[]): RoleDef {
  const current = getRoleDef(store, key);
  const next = current.permissions.filter((p) => !permissions.includes(p));
  if (next.length === current.permissions.length) return current;
  const role = { ...current, permissions: next, updated_at: at };
  store.putRole(role);
  return role;
}

export function deleteRole(store: Store, key: string): void {
  getRoleDef(store, key);
  for (const assignment of store.assignmentsByRole.list(key)) store.removeAssignment(assignment);
  for (const rule of [...store.setRules.values()]) if (rule.user_set === `${AUTOGEN}${key}`) store.deleteSetRule(rule);
  store.deleteRoleRecord(key);
}

// ------------------------------------------------------------ condition sets

function checkParent(store: Store, set: { key: string; type: string; resource_id?: string }, parentId: string): void {
  const parent = store.conditionSets.get(parentId);
  if (!parent) throw notFound(`condition set '${parentId}'`);
  if (parent.type !== set.type || parent.resource_id !== set.resource_id) {
    throw invalid(["body", "parent_id"], "a parent must be a condition set of the same type and resource");
  }
  const seen = new Set<string>([set.key]);
  for (let cursor: ConditionSetDef | undefined = parent; cursor; cursor = cursor.parent_id ? store.conditionSets.get(cursor.parent_id) : undefined) {
    if (seen.has(cursor.key)) throw invalid(["body", "parent_id"], "condition set parents must not form a cycle");
    seen.add(cursor.key);
  }
}

export function createConditionSet(store: Store, at: string, input: ConditionSetInput): ConditionSetDef {
  if (store.conditionSets.has(input.key)) throw duplicate(`condition set '${input.key}'`);
  if (input.type === "resourceset") {
    if (!input.resource_id) throw invalid(["body", "resource_id"], "a resource set needs resource_id");
    getResource(store, input.resource_id);
  } else if (input.resource_id) {
    throw invalid(["body", "resource_id"], "a user set has no resource_id");
  }
  const conditions = input.conditions ?? {};
  compileConditions(conditions);
  if (input.parent_id) checkParent(store, input, input.parent_id);
  const set: ConditionSetDef = {
    ...stamp(store, at),
    key: input.key,
    name: input.name ?? input.key,
    description: input.description,
    type: input.type,
    resource_id: input.resource_id,
    conditions,
    parent_id: input.parent_id,
  };
  store.putConditionSet(set);
  return set;
}

export function updateConditionSet(
  store: Store,
  at: string,
  key: string,
  patch: { name?: string; description?: string; conditions?: JsonObject; parent_id?: string | null },
): ConditionSetDef {
  const current = store.conditionSets.get(key);
  if (!current) throw notFound(`condition set '${key}'`);
  if (patch.conditions) compileConditions(patch.conditions);
  if (patch.parent_id) checkParent(store, current, patch.parent_id);
  const next: ConditionSetDef = {
    ...current,
    name: patch.name ?? current.name,
    description: patch.description ?? current.description,
    conditions: patch.conditions ?? current.conditions,
    parent_id: patch.parent_id === null ? undefined : (patch.parent_id ?? current.parent_id),
    updated_at: at,
  };
  store.putConditionSet(next);
  return next;
}

function deleteConditionSetCascade(store: Store, key: string): void {
  for (const child of [...store.conditionSets.values()]) if (child.parent_id === key) deleteConditionSetCascade(store, child.key);
  for (const rule of [...store.setRules.values()]) {
    if (rule.user_set === key || rule.resource_set === key) store.deleteSetRule(rule);
  }
  store.deleteConditionSetRecord(key);
}

export function deleteConditionSet(store: Store, key: string): void {
  if (!store.conditionSets.has(key)) throw notFound(`condition set '${key}'`);
  const children = [...store.conditionSets.values()].filter((s) => s.parent_id === key).map((s) => s.key);
  if (children.length > 0) throw conflict(`condition set '${key}' is the parent of ${children.join(", ")}; delete those first`);
  deleteConditionSetCascade(store, key);
}

// ------------------------------------------------------------ set rules

/** Resolves the `is_role`/`is_resource` shorthands and checks every part of a rule. */
export function normalizeSetRule(store: Store, input: SetRuleInput): { user_set: string; permission: string; resource_set: string } {
  const userSet = input.is_role ? `${AUTOGEN}${input.user_set}` : input.user_set;
  const resourceSet = input.is_resource ? `${AUTOGEN}${input.resource_set}` : input.resource_set;
  const { resource } = checkPermission(store, input.permission);

  if (userSet.startsWith(AUTOGEN)) {
    getRoleDef(store, userSet.slice(AUTOGEN.length));
  } else {
    const set = store.conditionSets.get(userSet);
    if (!set) throw notFound(`user set '${userSet}'`);
    if (set.type !== "userset") throw invalid(["body", "user_set"], `'${userSet}' is a resource set`);
  }

  let setResource: string;
  if (resourceSet.startsWith(AUTOGEN)) {
    setResource = resourceSet.slice(AUTOGEN.length);
    getResource(store, setResource);
  } else {
    const set = store.conditionSets.get(resourceSet);
    if (!set) throw notFound(`resource set '${resourceSet}'`);
    if (set.type !== "resourceset") throw invalid(["body", "resource_set"], `'${resourceSet}' is a user set`);
    setResource = set.resource_id ?? "";
  }
  if (setResource !== resource) {
    throw badRequest(`permission '${input.permission}' is not on the resource of resource set '${resourceSet}' ('${setResource}')`);
  }
  return { user_set: userSet, permission: input.permission, resource_set: resourceSet };
}

/** Idempotent: an existing rule is returned unchanged. */
export function createSetRule(store: Store, at: string, input: SetRuleInput): SetRuleRec {
  const rule = normalizeSetRule(store, input);
  const existing = store.setRules.get(setRuleKey(rule));
  if (existing) return existing;
  const rec: SetRuleRec = { ...stamp(store, at), ...rule };
  store.putSetRule(rec);
  return rec;
}

/** Idempotent: deleting a missing rule succeeds. */
export function deleteSetRule(store: Store, input: SetRuleInput): void {
  const userSet = input.is_role ? `${AUTOGEN}${input.user_set}` : input.user_set;
  const resourceSet = input.is_resource ? `${AUTOGEN}${input.resource_set}` : input.resource_set;
  const rule = store.setRules.get(setRuleKey({ user_set: userSet, permission: input.permission, resource_set: resourceSet }));
  if (rule) store.deleteSetRule(rule);
}
