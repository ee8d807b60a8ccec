/** Condition sets (user sets and resource sets), with parents; conditions are compiled on write. */
import { compileConditions } from "../../conditions";
import { conflict, duplicate, invalid, notFound } from "../../errors";
import type { ConditionSetDef, JsonObject } from "../../model";
import type { Store } from "../../store";
import type { ConditionSetInput } from "../inputs";
import { getResource, stamp } from "./lookup";

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

export function deleteConditionSetCascade(store: Store, key: string): void {
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
