/**
 * Why a decision went as it did, for operators (`npm run permit -- explain`) and, in
 * development, for the client of a denial (`x-authz-explain: 1`).
 *
 * The decision is always the PDP's own answer. Its reasons come from the PDP's `debug` when it
 * gives one (the local PDP always does; Permit's cloud PDP when its debugger is on): the tenant
 * roles, condition sets and instance roles that allowed it. Without `debug` they are computed
 * from the policy in code (policy.ts) and the facts read from Permit. Either way a derived
 * instance role is shown with its path (`workspaces:W#editor → notes:N#editor`, from the
 * tuples), and a deny lists what would have allowed it.
 */
import { conditionsHold } from "@notes/local-pdp";
import { resourceLabel, type AuthzDecision } from "./authorizer";
import type { CheckRequest, DecisionFacts, PdpDebug } from "../permit/decision-facts";
import { policy as codePolicy, type Condition } from "./policy";

/** Permit's prefix of the implicit sets (policy.ts: autogenUserSet, autogenResourceSet). */
const AUTOGEN = "__autogen_";

/** What allowed a decision. */
export type Grant =
  | { kind: "tenant-role"; role: string; text: string }
  | {
      kind: "condition-set";
      userSet: string;
      resourceSet: string;
      /** The attribute values the two sets' conditions read, e.g. `{"resource.owner": "u1", "user.key": "u1"}`. */
      attributes: Record<string, unknown>;
      text: string;
    }
  | {
      kind: "resource-role";
      role: string;
      /** `type:key#role` from the role the user holds directly to the instance decided on. */
      path: string[];
      derived: boolean;
      text: string;
    };

/** What would have allowed a denied decision. */
export type Requirement =
  | { kind: "tenant-role"; role: string; text: string }
  | { kind: "condition-set"; userSet: string; resourceSet: string; text: string }
  | { kind: "resource-role"; role: string; on: string; text: string };

export interface Explanation {
  decision: "allow" | "deny";
  /** `pdp-debug`: the PDP's own debug output; `policy`: computed from the policy in code and Permit's facts. */
  source: "pdp-debug" | "policy";
  user: string;
  action: string;
  /** `type:key`, or the type for a type-level check. */
  resource: string;
  tenantRoles: string[];
  userAttributes: Record<string, unknown>;
  resourceAttributes: Record<string, unknown>;
  /** Every grant that allowed it (empty for a deny). */
  grants: Grant[];
  /** For a deny: each alternative that would have allowed it. Empty for an allow. */
  wouldAllow: Requirement[];
  /** The PDP's reason per model, when it gave `debug`. */
  pdpReasons?: Record<string, string>;
  /** Set when the grants found do not agree with the PDP's answer (the policy in Permit differs from the code). */
  warning?: string;
}

export interface ExplainOptions {
  facts: DecisionFacts;
}

const MAX_PATH = 8;

/** `resource.owner equals {ref: user.key}` → `resource.owner == you`. */
function describeCondition(condition: unknown): string {
  if (typeof condition !== "object" || condition === null) return String(condition);
  const parts: string[] = [];
  for (const [key, value] of Object.entries(condition)) {
    if (key === "allOf" || key === "and") parts.push((value as unknown[]).map(describeCondition).join(" and "));
    else if (key === "anyOf" || key === "or") parts.push(`(${(value as unknown[]).map(describeCondition).join(" or ")})`);
    else if (key === "not") parts.push(`not (${describeCondition(Array.isArray(value) ? { allOf: value } : value)})`);
    else {
      for (const [op, operand] of Object.entries(value as Record<string, unknown>)) {
        const ref = typeof operand === "object" && operand !== null && "ref" in operand ? String((operand as { ref: unknown }).ref) : undefined;
        const shown = ref === "user.key" ? "you" : ref ?? JSON.stringify(operand);
        parts.push(`${key} ${op === "equals" ? "==" : op === "not-equals" ? "!=" : op} ${shown}`);
      }
    }
  }
  return parts.join(" and ");
}

/** `entity.attribute` names a condition reads, its own and those of its `ref`s. */
function attributesRead(condition: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(condition)) condition.forEach((c) => attributesRead(c, into));
  else if (typeof condition === "object" && condition !== null) {
    for (const [key, value] of Object.entries(condition)) {
      if (/^(user|resource|tenant|context)\./.test(key)) into.add(key);
      if (key === "ref" && typeof value === "string") into.add(value);
      attributesRead(value, into);
    }
  }
  return into;
}

function valueAt(bag: { user: Record<string, unknown>; resource: Record<string, unknown> }, name: string): unknown {
  const [entity, ...path] = name.split(".");
  let current: unknown = entity === "user" ? bag.user : entity === "resource" ? bag.resource : undefined;
  for (const part of path) current = typeof current === "object" && current !== null ? (current as Record<string, unknown>)[part] : undefined;
  return current;
}

export async function explainDecision(request: CheckRequest, options: ExplainOptions): Promise<Explanation> {
  const p = codePolicy;
  const { facts } = options;
  const { userId, action, resource } = request;
  const instance = resource.key === undefined ? undefined : `${resource.type}:${resource.key}`;
  const [answer, user] = await Promise.all([facts.check(request), facts.user(userId)]);
  const tenantRoles = user?.assignments.tenantRoles ?? [];
  const instanceRoles = user?.assignments.instanceRoles ?? new Map<string, string[]>();
  const debug: PdpDebug | undefined = answer.debug;

  // The attribute bag as Permit builds it (protocol §6.5); the PDP's own when it shows it.
  const userBag: Record<string, unknown> = debug?.request?.user?.attributes ?? { key: userId, roles: tenantRoles, ...(user?.attributes ?? {}) };
  const resourceBag: Record<string, unknown> = debug?.request?.resource?.attributes ?? { type: resource.type, ...(resource.attributes ?? {}) };
  const bag = { user: userBag, resource: resourceBag };
  const sets = new Map(p.conditionSets.map((s) => [s.key, s]));
  const perm = `${resource.type}:${action}`;
  const conditionsOf = (key: string): Condition | undefined => sets.get(key)?.conditions;
  const setText = (key: string, kind: "user" | "resource"): string => {
    if (key.startsWith(AUTOGEN)) return kind === "user" ? `role ${key.slice(AUTOGEN.length)}` : `any ${key.slice(AUTOGEN.length)}`;
    const c = conditionsOf(key);
    return c ? describeCondition(c) : key;
  };
  const ruleText = (userSet: string, resourceSet: string) =>
    resourceSet.startsWith(AUTOGEN) ? setText(userSet, "user") : `${setText(userSet, "user")} and ${setText(resourceSet, "resource")}`;
  // The roles of a type are mostly derived along the same relation: its tuples are read once.
  const relatedRead = new Map<string, Promise<string[]>>();
  const related = (object: string, relation: string): Promise<string[]> => {
    const key = `${object}#${relation}`;
    let subjects = relatedRead.get(key);
    if (!subjects) relatedRead.set(key, (subjects = facts.related(object, relation)));
    return subjects;
  };

  // Paths of instance roles: direct, or derived along the policy's derivations and the tuples.
  const pathsTo = async (target: string, role: string, depth: number): Promise<string[][]> => {
    if (depth > MAX_PATH) return [];
    const paths: string[][] = [];
    if (instanceRoles.get(target)?.includes(role)) paths.push([`${target}#${role}`]);
    const type = target.slice(0, target.indexOf(":"));
    const roleDef = p.resources.find((r) => r.key === type)?.roles.find((r) => r.key === role);
    for (const d of roleDef?.grantedTo ?? []) {
      for (const subject of await related(target, d.linkedByRelation)) {
        if (!subject.startsWith(`${d.onResource}:`)) continue;
        for (const path of await pathsTo(subject, d.role, depth + 1)) paths.push([...path, `${target}#${role}`]);
      }
    }
    return paths;
  };
  const resourcePolicy = p.resources.find((r) => r.key === resource.type);
  const rolesGranting = (resourcePolicy?.roles ?? []).filter((r) => r.permissions.includes(action));

  // ── what allowed it
  const grants: Grant[] = [];
  // With `debug`, a model's block is there when it allowed (protocol §6.7): no block, no grant.
  const allowing = <K extends "allowing_roles" | "allowing_rules">(model: "rbac" | "abac" | "rebac", key: K) =>
    debug?.[model]?.allow ? (debug[model][key] ?? []) : [];
  const tenantRoleGrants = debug
    ? allowing("rbac", "allowing_roles")
    : tenantRoles.filter((role) => p.roles.find((r) => r.key === role)?.permissions.includes(perm));
  for (const role of tenantRoleGrants) grants.push({ kind: "tenant-role", role, text: `tenant role ${role} grants ${perm}` });

  const ruleGrants = debug
    ? allowing("abac", "allowing_rules").map((r) => ({ userSet: r.user_set, resourceSet: r.resource_set }))
    : p.setRules
        .filter((rule) => rule.permissions.includes(perm))
        .filter((rule) => {
          const userOk = rule.userSet.startsWith(AUTOGEN)
            ? tenantRoles.includes(rule.userSet.slice(AUTOGEN.length))
            : conditionsHold(conditionsOf(rule.userSet) ?? { anyOf: [] }, bag as never);
          const resourceOk = rule.resourceSet.startsWith(AUTOGEN)
            ? rule.resourceSet === `${AUTOGEN}${resource.type}`
            : sets.get(rule.resourceSet)?.resource === resource.type && conditionsHold(conditionsOf(rule.resourceSet) ?? { anyOf: [] }, bag as never);
          return userOk && resourceOk;
        });
  for (const { userSet, resourceSet } of ruleGrants) {
    const read = new Set<string>();
    for (const key of [userSet, resourceSet]) if (!key.startsWith(AUTOGEN)) attributesRead(conditionsOf(key), read);
    if (userSet.startsWith(AUTOGEN)) read.add("user.roles");
    const attributes = Object.fromEntries([...read].sort().map((name) => [name, valueAt(bag, name)]));
    grants.push({ kind: "condition-set", userSet, resourceSet, attributes, text: `${ruleText(userSet, resourceSet)} grants ${perm}` });
  }

  if (instance) {
    const debugRoles = debug ? allowing("rebac", "allowing_roles") : undefined;
    for (const role of rolesGranting) {
      if (debugRoles && !debugRoles.includes(role.key)) continue;
      for (const path of await pathsTo(instance, role.key, 0)) {
        grants.push({ kind: "resource-role", role: role.key, path, derived: path.length > 1, text: `${path.join(" → ")} grants ${action}` });
      }
    }
  }

  // ── what would have allowed it
  const wouldAllow: Requirement[] = [];
  if (!answer.allow) {
    for (const r of p.roles) if (r.permissions.includes(perm)) wouldAllow.push({ kind: "tenant-role", role: r.key, text: `role ${r.key}` });
    for (const rule of p.setRules) {
      if (!rule.permissions.includes(perm)) continue;
      if (!rule.resourceSet.startsWith(AUTOGEN) && sets.get(rule.resourceSet)?.resource !== resource.type) continue;
      wouldAllow.push({ kind: "condition-set", userSet: rule.userSet, resourceSet: rule.resourceSet, text: ruleText(rule.userSet, rule.resourceSet) });
    }
    if (instance) {
      for (const role of rolesGranting) {
        wouldAllow.push({ kind: "resource-role", role: role.key, on: instance, text: `${role.key} on ${instance}` });
        for (const d of role.grantedTo ?? []) {
          for (const subject of await related(instance, d.linkedByRelation)) {
            if (subject.startsWith(`${d.onResource}:`)) wouldAllow.push({ kind: "resource-role", role: d.role, on: subject, text: `${d.role} on ${subject}` });
          }
        }
      }
    }
  }

  const explanation: Explanation = {
    decision: answer.allow ? "allow" : "deny",
    source: debug ? "pdp-debug" : "policy",
    user: userId,
    action,
    resource: instance ?? resource.type,
    tenantRoles,
    userAttributes: user?.attributes ?? {},
    resourceAttributes: resource.attributes ?? {},
    grants: answer.allow ? grants : [],
    wouldAllow,
  };
  if (debug) {
    explanation.pdpReasons = Object.fromEntries(
      (["rbac", "abac", "rebac"] as const).flatMap((m) => (debug[m] ? [[m, `${debug[m].code}: ${debug[m].reason}`]] : [])),
    );
  }
  if (answer.allow && grants.length === 0) explanation.warning = "The PDP allows, but no grant of the policy in code explains it: the policy in Permit differs from the code (npm run permit:apply).";
  if (!answer.allow && grants.length > 0) explanation.warning = "The policy in code would allow, but the PDP denies: the policy or the facts in Permit differ from the code (npm run permit:apply, npm run permit:reconcile).";
  return explanation;
}

/**
 * The explanation of a refusal the Authorizer made, for `extensions.explanation` (development
 * only). A missing row asked no PDP: it says so.
 */
export async function explainRefusal(facts: DecisionFacts, userId: string, decision: AuthzDecision): Promise<Explanation | MissingRow> {
  if (decision.reason === "missing") return { decision: "deny", reason: "missing", user: userId, action: decision.action, resource: resourceLabel(decision.resource) };
  return explainDecision({ userId, action: decision.action, resource: decision.resource }, { facts });
}

export interface MissingRow {
  decision: "deny";
  reason: "missing";
  user: string;
  action: string;
  resource: string;
}

/** The explanation as lines for a terminal. */
export function explanationLines(e: Explanation, sourceDescription: string): string[] {
  const lines = [
    `${e.decision.toUpperCase()}: ${e.user} ${e.action} ${e.resource}`,
    `  source: ${e.source === "pdp-debug" ? `the PDP's debug output (${sourceDescription})` : `computed from the policy in code and Permit's facts (${sourceDescription} gave no debug)`}`,
    `  tenant roles: ${e.tenantRoles.length ? e.tenantRoles.join(", ") : "none"}`,
    `  user attributes: ${JSON.stringify(e.userAttributes)}`,
    `  resource attributes: ${JSON.stringify(e.resourceAttributes)}`,
  ];
  if (e.decision === "allow") {
    lines.push("  allowed by:");
    for (const g of e.grants) {
      const values = g.kind === "condition-set" ? ` (${Object.entries(g.attributes).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(", ")})` : "";
      lines.push(`    - ${g.text}${values}`);
    }
  } else {
    lines.push(`  needs ${e.wouldAllow.length ? e.wouldAllow.map((r) => r.text).join(", or ") : "a grant the policy does not define"}`);
  }
  for (const [model, reason] of Object.entries(e.pdpReasons ?? {})) lines.push(`  pdp ${model}: ${reason}`);
  if (e.warning) lines.push(`  warning: ${e.warning}`);
  return lines;
}
