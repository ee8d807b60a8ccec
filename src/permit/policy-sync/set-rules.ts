/** Set rules: condition set × permission × condition set. Created when missing, never updated. */
import type { ConditionSetRuleRead, Permit } from "permitio";
import type { SetRulePolicy } from "../../authz/policy";
import { listAll } from "../rest";
import { pruneExtra, reconcile, type SyncRun } from "./reconcile";
import type { ConditionSetIds } from "./condition-sets";

interface SetRule {
  user_set: string;
  permission: string;
  resource_set: string;
}

const label = (rule: SetRule) => `set_rule:${rule.user_set}→${rule.permission}→${rule.resource_set}`;

const wantedRules = (rules: readonly SetRulePolicy[]): SetRule[] =>
  rules.flatMap((rule) => rule.permissions.map((perm) => ({ user_set: rule.userSet, permission: perm, resource_set: rule.resourceSet })));

/** A rule with its sets named by key (rules may name their sets by id). */
const byKeys = (ids: ConditionSetIds, x: SetRule): SetRule => ({
  user_set: ids.get(x.user_set) ?? x.user_set,
  permission: x.permission,
  resource_set: ids.get(x.resource_set) ?? x.resource_set,
});

export function syncSetRules(run: SyncRun, rules: readonly SetRulePolicy[], ids: ConditionSetIds): Promise<void> {
  const api = run.api;
  return reconcile<SetRule, ConditionSetRuleRead>(run, wantedRules(rules), {
    label,
    read: async (rule) => {
      const found = await listAll((page, perPage) =>
        api.conditionSetRules.list({ userSetKey: rule.user_set, permissionKey: rule.permission, resourceSetKey: rule.resource_set, page, perPage }),
      );
      return found.find((x) => label(byKeys(ids, x)) === label(rule));
    },
    create: async (rule) => void (await api.conditionSetRules.create(rule)),
  });
}

export async function pruneSetRules(run: SyncRun, rules: readonly SetRulePolicy[], ids: ConditionSetIds): Promise<void> {
  const api = run.api;
  const wanted = new Set(wantedRules(rules).map(label));
  const actual = await run.list("list set rules", (page, perPage) =>
    // No filter: every rule of the environment.
    api.conditionSetRules.list({ page, perPage } as unknown as Parameters<Permit["api"]["conditionSetRules"]["list"]>[0]),
  );
  await pruneExtra(run, actual, {
    label: (x) => label(byKeys(ids, x)),
    keep: (x) => wanted.has(label(byKeys(ids, x))),
    remove: (x) => api.conditionSetRules.delete({ user_set: x.user_set, permission: x.permission, resource_set: x.resource_set }),
  });
}
