/** Set rules (ABAC): a user set may perform a permission on a resource set. */
import { badRequest, invalid, notFound } from "../../errors";
import { AUTOGEN, type SetRuleRec } from "../../model";
import { setRuleKey, type Store } from "../../store";
import type { SetRuleInput } from "../inputs";
import { checkPermission, getResource, getRoleDef, stamp } from "./lookup";

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
