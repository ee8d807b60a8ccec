/**
 * Query plans: which instances of a resource type a user *may* be allowed an action on,
 * as a condition over the instances' attributes and relations, computed from the policy alone
 * (Cerbos's PlanResources, Oso's list filtering, on Permit's model). The caller turns the
 * condition into a query and still checks every row it returns: a plan selects candidates, it
 * never decides.
 *
 * A plan is never narrower than the decisions (decision semantics: README §"Decisions"):
 * RBAC OR ABAC OR ReBAC. Whatever cannot be expressed over the instance (a user attribute the
 * plan does not know, `not`, a match block, a derivation chain deeper than MAX_DEPTH) counts
 * as "may be allowed", so the plan widens, down to `always`.
 */
import { AUTOGEN, type Json } from "./model";
import { compileConditions, type Cond } from "./conditions";

/**
 * The policy as Permit's schema API describes it (only what planning needs). Read-only once
 * planned with: its condition sets are compiled once per object (`compiledConditions`).
 */
export interface PlanPolicy {
  /** Tenant roles with the permissions (`type:action`) they grant. */
  roles: { key: string; permissions: string[] }[];
  /** Resource roles: the actions of `resource` they grant, and the roles they derive from. */
  resourceRoles: {
    resource: string;
    key: string;
    permissions: string[];
    derivations: { role: string; on_resource: string; linked_by_relation: string }[];
  }[];
  conditionSets: { key: string; type: "userset" | "resourceset"; resource?: string; conditions: unknown }[];
  setRules: { user_set: string; permission: string; resource_set: string }[];
}

/** What the plan knows of the user: their key and their tenant roles in the tenant listed. */
export interface PlanUser {
  key: string;
  roles: readonly string[];
}

export type PlanCondition =
  | { kind: "all"; items: PlanCondition[] }
  | { kind: "any"; items: PlanCondition[] }
  /** A resource attribute equals one of the values (strings, numbers or booleans). */
  | { kind: "attribute"; attribute: string; values: Json[] }
  /** The user holds one of these roles on the instance itself (a direct assignment). */
  | { kind: "role"; roles: string[] }
  /** The instance is the object of `relation` from a `subjectType` instance that satisfies `subject`. */
  | { kind: "related"; relation: string; subjectType: string; subject: PlanCondition };

export type Plan = { kind: "always" } | { kind: "never" } | { kind: "conditional"; condition: PlanCondition };

/** Derivation chains longer than this widen the plan. */
const MAX_DEPTH = 4;

const ALWAYS: Plan = { kind: "always" };
const NEVER: Plan = { kind: "never" };

/** Internal: a condition, or "unknown" (may hold for any instance), or "none" (holds for none). */
type Partial = PlanCondition | "unknown" | "none";

export function planAccess(policy: PlanPolicy, user: PlanUser, resource: string, action: string): Plan {
  const permission = `${resource}:${action}`;
  const roles = new Set(user.roles);

  // RBAC: a tenant role that grants the permission grants it on every instance.
  if (policy.roles.some((r) => roles.has(r.key) && r.permissions.includes(permission))) return ALWAYS;

  const options: Partial[] = [];

  // ABAC: set rules whose user set may hold the user.
  const sets = new Map(policy.conditionSets.map((s) => [s.key, s]));
  for (const rule of policy.setRules) {
    if (rule.permission !== permission) continue;
    if (!userMayBeIn(rule.user_set, roles, sets)) continue;
    if (rule.resource_set === `${AUTOGEN}${resource}`) return ALWAYS;
    const set = sets.get(rule.resource_set);
    if (!set || set.type !== "resourceset" || set.resource !== resource) continue;
    options.push(resourceSetCondition(set.conditions, user));
  }

  // ReBAC: resource roles granting the action, held directly or derived through relations.
  for (const role of policy.resourceRoles) {
    if (role.resource !== resource || !role.permissions.includes(action)) continue;
    options.push(holdsRole(policy, resource, role.key, 0));
  }

  const plan = any(options);
  if (plan === "unknown") return ALWAYS;
  if (plan === "none") return NEVER;
  return { kind: "conditional", condition: plan };
}

/** `__autogen_<role>` holds exactly the users with that tenant role; a user condition set may hold anyone (its attributes are not planned). */
function userMayBeIn(userSet: string, roles: ReadonlySet<string>, sets: Map<string, PlanPolicy["conditionSets"][number]>): boolean {
  if (userSet.startsWith(AUTOGEN)) return roles.has(userSet.slice(AUTOGEN.length));
  const set = sets.get(userSet);
  return set !== undefined && set.type === "userset";
}

/** The user holds `roleKey` on an instance of `resource`: directly, or through one of its derivations. */
function holdsRole(policy: PlanPolicy, resource: string, roleKey: string, depth: number): Partial {
  const options: Partial[] = [{ kind: "role", roles: [roleKey] }];
  const role = policy.resourceRoles.find((r) => r.resource === resource && r.key === roleKey);
  for (const d of role?.derivations ?? []) {
    if (depth >= MAX_DEPTH) return "unknown";
    const subject = holdsRole(policy, d.on_resource, d.role, depth + 1);
    if (subject === "none") continue;
    if (subject === "unknown") return "unknown";
    options.push({ kind: "related", relation: d.linked_by_relation, subjectType: d.on_resource, subject });
  }
  return any(options);
}

/**
 * Conditions compiled by their raw object (null: not compilable). A caller plans many requests
 * from one policy it has read and does not change, and compiling its conditions again for
 * every plan was a visible share of a list page's CPU.
 */
const compiledSets = new WeakMap<object, Cond | null>();

function compiledConditions(raw: unknown): Cond | null {
  if (typeof raw !== "object" || raw === null) return compiledOrNull(raw);
  let cond = compiledSets.get(raw);
  if (cond === undefined) compiledSets.set(raw, (cond = compiledOrNull(raw)));
  return cond;
}

function compiledOrNull(raw: unknown): Cond | null {
  try {
    return compileConditions(raw);
  } catch {
    return null;
  }
}

function resourceSetCondition(raw: unknown, user: PlanUser): Partial {
  const cond = compiledConditions(raw);
  return cond === null ? "unknown" : translate(cond, user);
}

/** A compiled condition over `resource.*` attributes, with `user.key` references resolved. */
function translate(cond: Cond, user: PlanUser): Partial {
  switch (cond.kind) {
    case "all":
      return all(cond.items.map((c) => translate(c, user)));
    case "any":
      return any(cond.items.map((c) => translate(c, user)));
    case "not":
      return "unknown";
    case "attr": {
      if (cond.entity !== "resource" || cond.path.length !== 1) return "unknown";
      const test = cond.test;
      if (test.kind !== "op") return "unknown";
      const operand = test.operand.kind === "lit" ? test.operand.value : userValue(test.operand, user);
      if (operand === undefined || operand === null) return "unknown";
      if (test.op === "equals" && isScalar(operand)) return { kind: "attribute", attribute: cond.path[0]!, values: [operand] };
      if (test.op === "in" && Array.isArray(operand) && operand.every(isScalar)) {
        return operand.length === 0 ? "none" : { kind: "attribute", attribute: cond.path[0]!, values: operand };
      }
      return "unknown";
    }
  }
}

/** `user.key` is known; any other user attribute is not planned (undefined = unknown). */
function userValue(operand: { entity: string; path: string[] }, user: PlanUser): Json | undefined {
  if (operand.entity === "user" && operand.path.length === 1 && operand.path[0] === "key") return user.key;
  return undefined;
}

const isScalar = (v: Json): boolean => typeof v === "string" || typeof v === "number" || typeof v === "boolean";

function any(items: Partial[]): Partial {
  const kept: PlanCondition[] = [];
  for (const item of items) {
    if (item === "unknown") return "unknown";
    if (item !== "none") kept.push(item);
  }
  if (kept.length === 0) return "none";
  return kept.length === 1 ? kept[0]! : { kind: "any", items: kept };
}

function all(items: Partial[]): Partial {
  const kept: PlanCondition[] = [];
  for (const item of items) {
    if (item === "none") return "none";
    // Dropping an unknown conjunct widens: (a AND ?) ⊆ a.
    if (item !== "unknown") kept.push(item);
  }
  if (kept.length === 0) return "unknown";
  return kept.length === 1 ? kept[0]! : { kind: "all", items: kept };
}
