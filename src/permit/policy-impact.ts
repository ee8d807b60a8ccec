/**
 * The impact of a policy change on people's access, before it is applied: the policy the target
 * has now and the one it would have after `permit:apply --prune` are both evaluated in-process
 * by the local PDP's engine (`DecisionEngine`, Permit's decision semantics) over the same facts
 * — the instances, workspace roles and tuples the database implies (as reconcile derives them)
 * and every user's tenant roles and attributes as Permit has them — and every decision that
 * differs is reported, grouped by what granted it (a tenant role, a condition set rule, a
 * resource role), resource type and action.
 *
 * Nothing is written anywhere: the target is only read.
 */
import { DecisionEngine, type Decision, type EngineFacts, type EnginePolicy } from "@notes/local-pdp";
import type { Permit } from "permitio";
import type { DataSource } from "typeorm";
import { NoteAction, NoteAttribute, Relation, Resource, WorkspaceAction, type Policy } from "../authz/policy";
import { readEnginePolicy } from "./policy-reader";
import { readExpectedFacts } from "./reconcile";
import { listAll } from "./rest";

/** Above this many decisions (users × objects × actions), a seeded sample of this size is taken. */
export const DEFAULT_SAMPLE_LIMIT = 2_000_000;
export const DEFAULT_SEED = 1;
/** Users named per group, and objects named per user. */
const EXAMPLE_USERS = 5;
const EXAMPLE_OBJECTS = 3;

/** What allowed a decision: a tenant role (RBAC), a set rule (ABAC) or a resource role (ReBAC). */
export interface Grant {
  model: "rbac" | "abac" | "rebac";
  /** `admin`; `__autogen_user → own_notes`; `notes#editor`. */
  key: string;
  /** How people read it: `role admin`, `own_notes`, `notes#editor`. */
  label: string;
}

export interface ImpactExample {
  user: string;
  email: string | null;
  /** Objects whose decision flips for this user (type-level checks count as one). */
  objects: number;
  /** A few of them, `type:key` (or `type` for a type-level check). */
  sample: string[];
  /** The one line people read: "alice@example.com loses put on 12 notes (own_notes no longer grants put)". */
  text: string;
}

export interface ImpactGroup {
  change: "loses" | "gains";
  resource: string;
  action: string;
  /** What granted the access before (losses) or grants it after (gains). */
  grants: Grant[];
  users: number;
  objects: number;
  decisions: number;
  examples: ImpactExample[];
}

export interface PolicyImpact {
  changed: boolean;
  coverage: {
    users: number;
    /** Instances, plus one per type-level check (creating a note or a workspace). */
    objects: number;
    /** Every (user, object, action) there is. */
    population: number;
    /**
     * Decisions not compared because nothing they depend on differs between the two policies
     * (DecisionEngine#dependenciesOf): both policies decide them alike over these facts.
     */
    unaffected: number;
    /** The decisions compared (all the others, or a sample of them). */
    compared: number;
    sampled: boolean;
    seed?: number;
  };
  losses: ImpactGroup[];
  gains: ImpactGroup[];
  /** Role assignments, instances or tuples the new policy cannot hold (their role or type is gone). */
  factsDropped: number;
  ms: number;
}

// ─── the two policies ─────────────────────────────────────────────────────────────────────

/** The policy of policy.ts as the engine takes it (what `--prune` leaves in the target). */
export function enginePolicyOf(policy: Policy): EnginePolicy {
  return {
    resources: policy.resources.map((r) => ({
      key: r.key,
      actions: [...r.actions],
      relations: r.relations.map((rel) => ({ key: rel.key, subject_resource: rel.subject })),
      roles: r.roles.map((role) => ({
        key: role.key,
        permissions: [...role.permissions],
        derivations: (role.grantedTo ?? []).map((d) => ({ role: d.role, on_resource: d.onResource, linked_by_relation: d.linkedByRelation })),
      })),
    })),
    roles: policy.roles.map((r) => ({ key: r.key, permissions: [...r.permissions] })),
    conditionSets: policy.conditionSets.map((s) => ({ key: s.key, type: s.type, resource: s.resource, conditions: s.conditions })),
    setRules: policy.setRules.flatMap((rule) => rule.permissions.map((p) => ({ user_set: rule.userSet, permission: p, resource_set: rule.resourceSet }))),
  };
}

// ─── the facts ────────────────────────────────────────────────────────────────────────────

export interface ImpactFacts extends EngineFacts {
  emails: Map<string, string | null>;
}

/**
 * The facts both policies are evaluated over: the database's (as reconcile derives them) and
 * the users' tenant roles and attributes from Permit. Users are those of the database that are
 * not deleted, and those Permit knows that the database does not (granted roles ahead of their
 * first request).
 */
export async function readImpactFacts(permit: Pick<Permit, "api">, ds: DataSource, tenant: string): Promise<ImpactFacts> {
  const api = permit.api;
  const [expected, permitUsers, assignments] = await Promise.all([
    readExpectedFacts(ds),
    listAll(async (page, perPage) => (await api.users.list({ page, perPage })).data ?? []),
    listAll((page, perPage) => api.roleAssignments.list({ tenant, page, perPage })),
  ]);
  const deleted = new Set(expected.users.filter((u) => u.deleted).map((u) => u.id));
  const emails = new Map<string, string | null>();
  for (const u of expected.users) if (!u.deleted) emails.set(u.id, u.email);
  const users = new Map<string, EngineFacts["users"][number]>();
  for (const id of emails.keys()) users.set(id, { key: id });
  for (const u of permitUsers) {
    if (deleted.has(u.key)) continue;
    users.set(u.key, { key: u.key, email: u.email ?? undefined, attributes: (u.attributes ?? {}) as Record<string, unknown> });
    if (!emails.get(u.key)) emails.set(u.key, u.email ?? null);
  }
  const tenantRoles = assignments
    .filter((a) => !a.resource_instance && (a.tenant ?? tenant) === tenant && users.has(a.user))
    .map((a) => ({ user: a.user, role: a.role }));
  return {
    tenant,
    emails,
    users: [...users.values()],
    tenantRoles,
    instances: [...expected.instances].map(([id, attributes]) => ({
      type: id.slice(0, id.indexOf(":")),
      key: id.slice(id.indexOf(":") + 1),
      attributes,
    })),
    instanceRoles: expected.roles,
    tuples: expected.tuples.map((t) => ({ ...t, relation: Relation.parent })),
  };
}

// ─── the comparison ───────────────────────────────────────────────────────────────────────

export interface ImpactOptions {
  /** The decisions compared at most; above, a seeded sample of this size (default DEFAULT_SAMPLE_LIMIT). */
  sampleLimit?: number;
  seed?: number;
}

/** One object to decide on: an instance, or a type-level check the API makes. */
interface Target {
  id: string;
  type: string;
  key?: string;
  /** As the API sends them: from the stored row (authz/resources.ts). */
  attributes?: Record<string, unknown>;
  actions: string[];
}

/**
 * The type-level checks the API makes (authz/resources.ts: `newNoteResource`,
 * `newWorkspaceResource`): creating a note (owned by the caller) and creating a workspace.
 */
function typeLevelTargets(user: string): Target[] {
  return [
    { id: Resource.notes, type: Resource.notes, attributes: { [NoteAttribute.owner]: user }, actions: [NoteAction.post] },
    { id: Resource.workspaces, type: Resource.workspaces, actions: [WorkspaceAction.post] },
  ];
}

export function grantsOf(decision: Decision, resource: string): Grant[] {
  const grants: Grant[] = [];
  if (decision.rbac.allow) for (const role of decision.rbac.allowing_roles ?? []) grants.push({ model: "rbac", key: role, label: `role ${role}` });
  if (decision.abac.allow) {
    for (const rule of decision.abac.allowing_rules ?? []) {
      grants.push({ model: "abac", key: `${rule.user_set} → ${rule.resource_set}`, label: setRuleLabel(rule.user_set, rule.resource_set) });
    }
  }
  if (decision.rebac?.allow) {
    for (const role of decision.rebac.allowing_roles ?? []) grants.push({ model: "rebac", key: `${resource}#${role}`, label: `${resource}#${role}` });
  }
  return grants;
}

/** `own_notes` for (every user of role user) × own_notes; `premium` for premium × every workspace. */
function setRuleLabel(userSet: string, resourceSet: string): string {
  const autogen = (key: string) => key.startsWith("__autogen_");
  if (autogen(resourceSet) && !autogen(userSet)) return userSet;
  if (autogen(userSet) && !autogen(resourceSet)) return resourceSet;
  return `${userSet.replace(/^__autogen_/, "role ")} on ${resourceSet.replace(/^__autogen_/, "every ")}`;
}

/** mulberry32: a small seeded generator, so a sample can be drawn again. */
function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `size` distinct indexes of [0, population), sorted (Floyd's algorithm). */
function sampleIndexes(population: number, size: number, seed: number): number[] {
  const random = seededRandom(seed);
  const chosen = new Set<number>();
  for (let j = population - size; j < population; j++) {
    const t = Math.floor(random() * (j + 1));
    chosen.add(chosen.has(t) ? j : t);
  }
  return [...chosen].sort((x, y) => x - y);
}

interface Flip {
  user: string;
  target: Target;
  action: string;
  grants: Grant[];
}

/** Compares the decisions of `before` and `after` over `facts`. */
export function comparePolicies(before: EnginePolicy, after: EnginePolicy, facts: ImpactFacts, options: ImpactOptions = {}): PolicyImpact {
  const started = Date.now();
  const old = DecisionEngine.load(before, facts);
  const next = DecisionEngine.load(after, facts);

  // The actions of a type are those of both policies: an action only one defines may flip.
  const actionsOf = new Map<string, string[]>();
  for (const r of [...before.resources, ...after.resources]) actionsOf.set(r.key, [...new Set([...(actionsOf.get(r.key) ?? []), ...r.actions])].sort());
  // Only the actions whose part of the policy differs can flip; the others are not decided.
  const affected = new Map<string, boolean>();
  const mayFlip = (type: string, action: string) => {
    const key = `${type}:${action}`;
    let differs = affected.get(key);
    if (differs === undefined) affected.set(key, (differs = old.dependenciesOf(type, action) !== next.dependenciesOf(type, action)));
    return differs;
  };
  const narrowed = (t: Target): Target => ({ ...t, actions: t.actions.filter((a) => mayFlip(t.type, a)) });
  const allInstances: Target[] = facts.instances.map((i) => ({ id: `${i.type}:${i.key}`, type: i.type, key: i.key, attributes: i.attributes, actions: actionsOf.get(i.type) ?? [] }));
  const instances = allInstances.map(narrowed).filter((t) => t.actions.length > 0);
  const typeLevelOf = (user: string) => typeLevelTargets(user).map(narrowed).filter((t) => t.actions.length > 0);
  const users = [...facts.users.map((u) => u.key)].sort();
  const actionsIn = (targets: Target[]) => targets.reduce((n, t) => n + t.actions.length, 0);
  const population = users.length * (actionsIn(allInstances) + actionsIn(typeLevelTargets("")));
  const perUser = actionsIn(instances) + actionsIn(typeLevelOf(""));
  const candidates = users.length * perUser;
  const limit = options.sampleLimit ?? DEFAULT_SAMPLE_LIMIT;
  const seed = options.seed ?? DEFAULT_SEED;
  const sampled = candidates > limit;
  const sample = sampled ? sampleIndexes(candidates, limit, seed) : undefined;

  const losses: Flip[] = [];
  const gains: Flip[] = [];
  const decide = (user: string, target: Target, action: string) => {
    const check = { user, action, resource: { type: target.type, key: target.key, attributes: target.attributes } };
    const was = old.check(check);
    const will = next.check(check);
    if (was.allow && !will.allow) losses.push({ user, target, action, grants: grantsOf(was, target.type) });
    else if (!was.allow && will.allow) gains.push({ user, target, action, grants: grantsOf(will, target.type) });
  };
  const targetsOf = (user: string) => [...instances, ...typeLevelOf(user)];

  if (!sample) {
    for (const user of users) {
      for (const target of targetsOf(user)) for (const action of target.actions) decide(user, target, action);
      old.forgetMemo();
      next.forgetMemo();
    }
  } else {
    // Indexes are sorted, so the sample is visited one user at a time (the memo stays per user).
    let current = -1;
    let flat: [Target, string][] = [];
    for (const index of sample) {
      const u = Math.floor(index / perUser);
      if (u !== current) {
        current = u;
        flat = targetsOf(users[u]!).flatMap((t) => t.actions.map((a) => [t, a] as [Target, string]));
        old.forgetMemo();
        next.forgetMemo();
      }
      const [target, action] = flat[index % perUser]!;
      decide(users[u]!, target, action);
    }
  }

  return {
    changed: losses.length + gains.length > 0,
    coverage: {
      users: users.length,
      objects: allInstances.length + typeLevelTargets("").length,
      population,
      unaffected: population - candidates,
      compared: sample ? sample.length : candidates,
      sampled,
      ...(sampled ? { seed } : {}),
    },
    losses: group("loses", losses, facts.emails),
    gains: group("gains", gains, facts.emails),
    factsDropped: next.skippedFacts,
    ms: Date.now() - started,
  };
}

function group(change: ImpactGroup["change"], flips: Flip[], emails: Map<string, string | null>): ImpactGroup[] {
  const groups = new Map<string, { resource: string; action: string; grants: Grant[]; byUser: Map<string, Set<string>>; decisions: number }>();
  for (const f of flips) {
    const grants = [...f.grants].sort((a, b) => a.key.localeCompare(b.key));
    const key = JSON.stringify([f.target.type, f.action, grants.map((g) => g.key)]);
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { resource: f.target.type, action: f.action, grants, byUser: new Map(), decisions: 0 }));
    g.decisions++;
    let objects = g.byUser.get(f.user);
    if (!objects) g.byUser.set(f.user, (objects = new Set()));
    objects.add(f.target.id);
  }
  return [...groups.values()]
    .map((g) => {
      const allObjects = new Set<string>();
      for (const objects of g.byUser.values()) objects.forEach((o) => allObjects.add(o));
      const examples = [...g.byUser]
        .sort(([ua, a], [ub, b]) => b.size - a.size || ua.localeCompare(ub))
        .slice(0, EXAMPLE_USERS)
        .map(([user, objects]) => {
          const email = emails.get(user) ?? null;
          return {
            user,
            email,
            objects: objects.size,
            sample: [...objects].sort().slice(0, EXAMPLE_OBJECTS),
            text: `${email ?? user} ${change === "loses" ? "loses" : "gains"} ${g.action} on ${objectsPhrase(objects, g.resource)} (${because(change, g.grants, g.action)})`,
          };
        });
      return { change, resource: g.resource, action: g.action, grants: g.grants, users: g.byUser.size, objects: allObjects.size, decisions: g.decisions, examples };
    })
    .sort((a, b) => b.decisions - a.decisions || a.resource.localeCompare(b.resource) || a.action.localeCompare(b.action));
}

/** "12 notes", "1 note", or "new workspaces" for a type-level check. */
function objectsPhrase(objects: Set<string>, resource: string): string {
  const typeLevel = objects.has(resource);
  const instances = objects.size - (typeLevel ? 1 : 0);
  const parts: string[] = [];
  if (instances > 0) parts.push(`${instances} ${instances === 1 ? resource.replace(/s$/, "") : resource}`);
  if (typeLevel) parts.push(`new ${resource}`);
  return parts.join(" and ");
}

function because(change: ImpactGroup["change"], grants: Grant[], action: string): string {
  if (grants.length === 0) return change === "loses" ? "no longer granted" : "newly granted";
  const names = grants.map((g) => g.label);
  const list = names.length === 1 ? names[0]! : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]!}`;
  const plural = names.length > 1;
  return change === "loses" ? `${list} no longer grant${plural ? "" : "s"} ${action}` : `${list} now grant${plural ? "" : "s"} ${action}`;
}

// ─── reading the target, and the report ───────────────────────────────────────────────────

/** The preview: the target's live policy against `policy`, over the facts of `ds` and Permit. */
export async function previewPolicyImpact(
  permit: Pick<Permit, "api">,
  ds: DataSource,
  tenant: string,
  policy: Policy,
  options: ImpactOptions = {},
): Promise<PolicyImpact> {
  const [live, facts] = await Promise.all([readEnginePolicy(permit), readImpactFacts(permit, ds, tenant)]);
  return comparePolicies(live, enginePolicyOf(policy), facts, options);
}

const count = (n: number) => n.toLocaleString("en-US");

/** The report people read. Exactly `No change in access` when nothing changes (and the whole population was compared). */
export function impactLines(impact: PolicyImpact): string[] {
  const c = impact.coverage;
  const skipped = c.unaffected > 0 ? `; ${count(c.unaffected)} of the ${count(c.population)} depend on nothing the change touches` : "";
  const coverage = c.sampled
    ? `sampled ${count(c.compared)} of the ${count(c.population - c.unaffected)} decisions the change touches (seed ${c.seed}; --sample and --seed change it)`
    : `${count(c.population)} decisions: ${count(c.users)} users × ${count(c.objects)} objects × their actions${skipped}`;
  if (!impact.changed) return c.sampled ? ["No change in access", `(${coverage}: access outside the sample was not compared)`] : ["No change in access"];
  const lines = [`Access that would change (${coverage}):`];
  for (const [title, groups] of [["Losses", impact.losses], ["Gains", impact.gains]] as const) {
    if (groups.length === 0) continue;
    lines.push("", `${title}:`);
    for (const g of groups) {
      lines.push(`  ${g.change === "loses" ? "-" : "+"} ${g.action} on ${g.resource} (${because(g.change, g.grants, g.action)}): ${count(g.users)} users, ${count(g.objects)} objects`);
      for (const e of g.examples) lines.push(`      ${e.text}, e.g. ${e.sample.join(", ")}`);
      if (g.users > g.examples.length) lines.push(`      … and ${count(g.users - g.examples.length)} more users`);
    }
  }
  if (impact.factsDropped > 0) lines.push("", `${count(impact.factsDropped)} role assignments, instances or tuples name what the new policy no longer defines (dropped with it).`);
  return lines;
}
