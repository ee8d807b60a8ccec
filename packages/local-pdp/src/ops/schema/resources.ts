/**
 * Resources: create, replace (PUT), update (PATCH) with inline actions, attributes, roles and
 * relations, and a delete that cascades to everything that refers to the resource.
 */
import { duplicate } from "../../errors";
import { AUTOGEN, type ActionDef, type AttributeDef, type ResourceDef } from "../../model";
import type { Store } from "../../store";
import type { ResourceBody } from "../inputs";
import { deleteInstanceCascade } from "../resource-instances";
import { buildActions, purgeAction } from "./actions";
import { buildAttributes } from "./attributes";
import { deleteConditionSetCascade } from "./condition-sets";
import { getResource, stamp } from "./lookup";
import { createRelation, deleteRelation } from "./relations";
import { createResourceRole, removeResourceRoleReferences, updateResourceRole } from "./resource-roles";

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
