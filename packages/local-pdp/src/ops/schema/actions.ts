/** Actions of a resource; deleting one removes it from every role and set rule. */
import { duplicate, notFound } from "../../errors";
import type { ActionDef, ResourceRoleDef } from "../../model";
import type { Store } from "../../store";
import type { ActionInput } from "../inputs";
import { getResource, withoutKey } from "./lookup";

export function buildActions(store: Store, input: Record<string, ActionInput>): Record<string, ActionDef> {
  const actions: Record<string, ActionDef> = {};
  for (const [key, a] of Object.entries(input)) {
    actions[key] = { id: store.nextId(), key, name: a.name ?? key, description: a.description, attributes: a.attributes };
  }
  return actions;
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

/** Removes every grant of one action: tenant roles, the resource's roles and set rules. */
export function purgeAction(store: Store, at: string, resource: string, action: string): void {
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
