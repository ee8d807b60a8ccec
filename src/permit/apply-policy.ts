/**
 * Pushes `policy` (policy.ts) to a Permit environment through the SDK's schema API, the same
 * way for Permit's cloud and for the local Permit-compatible PDP.
 *
 * Idempotent: every object is read first, created when missing (404), updated only when it
 * differs from the policy, and otherwise left alone, so a second run changes nothing. Objects
 * the policy names are made to match it; objects it does not name are left alone unless
 * `prune` is set (the environment may hold someone else's configuration).
 */
import type { ConditionSetRead, ConditionSetRuleRead, Permit, ResourceRead, RoleRead } from "permitio";
import { stableStringify } from "../authz/authorizer";
import { describePermitError } from "./client";
import { listAll, orMissing } from "./rest";
import {
  validatePolicy,
  type ConditionSetPolicy,
  type Derivation,
  type Policy,
  type ResourcePolicy,
  type ResourceRolePolicy,
  type TenantRolePolicy,
} from "../authz/policy";

export interface ApplyPolicyOptions {
  /** Also delete roles, relations, condition sets, set rules and resources the policy does not define. */
  prune?: boolean;
  /** Receives one line per change. */
  log?: (line: string) => void;
  /** When given, the tenant is created if missing (decisions are made per tenant). */
  tenant?: string;
}

export interface ApplyPolicyResult {
  created: string[];
  updated: string[];
  unchanged: number;
  removed: string[];
}

/** A failed step of the apply, described without the SDK error (which holds the API key). */
export class PolicyApplyError extends Error {
  readonly status?: number;
  constructor(readonly step: string, cause: unknown) {
    const f = describePermitError(cause);
    super(`${step}: ${f.message}${f.status ? ` (HTTP ${f.status})` : ""}`);
    this.name = "PolicyApplyError";
    this.status = f.status;
  }
}

// Not re-exported by the package root in 2.7.6.
type ResourceRoleRead = Awaited<ReturnType<Permit["api"]["resourceRoles"]["get"]>>;
type RelationRead = Awaited<ReturnType<Permit["api"]["resourceRelations"]["get"]>>;

const sameSet = (a: readonly string[], b: readonly string[]) => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

const derivationId = (d: { role: string; on_resource: string; linked_by_relation: string }) =>
  `${d.on_resource}#${d.role}@${d.linked_by_relation}`;

const toDerivationBody = (d: Derivation) => ({ role: d.role, on_resource: d.onResource, linked_by_relation: d.linkedByRelation });

/** Resources ordered so that a relation's subject comes before the resource defining it. */
function dependencyOrder(resources: readonly ResourcePolicy[]): ResourcePolicy[] {
  const byKey = new Map(resources.map((r) => [r.key as string, r]));
  const done = new Set<string>();
  const ordered: ResourcePolicy[] = [];
  const visit = (r: ResourcePolicy, path: Set<string>) => {
    if (done.has(r.key) || path.has(r.key)) return;
    path.add(r.key);
    for (const rel of r.relations) {
      const dep = byKey.get(rel.subject);
      if (dep) visit(dep, path);
    }
    for (const role of r.roles) {
      for (const d of role.grantedTo ?? []) {
        const dep = byKey.get(d.onResource);
        if (dep) visit(dep, path);
      }
    }
    done.add(r.key);
    ordered.push(r);
  };
  resources.forEach((r) => visit(r, new Set()));
  return ordered;
}

const setRuleLabel = (userSet: string, perm: string, resourceSet: string) => `set_rule:${userSet}→${perm}→${resourceSet}`;

export async function applyPolicy(
  permit: Pick<Permit, "api">,
  policy: Policy,
  options: ApplyPolicyOptions = {},
): Promise<ApplyPolicyResult> {
  const problems = validatePolicy(policy);
  if (problems.length > 0) throw new Error(`The policy is inconsistent:\n  ${problems.join("\n  ")}`);

  const api = permit.api;
  const log = options.log ?? (() => {});
  const result: ApplyPolicyResult = { created: [], updated: [], unchanged: 0, removed: [] };
  const created = (label: string) => (result.created.push(label), log(`created ${label}`));
  const updated = (label: string, what: string[]) => (result.updated.push(label), log(`updated ${label} (${what.join(", ")})`));
  const removed = (label: string) => (result.removed.push(label), log(`removed ${label}`));

  const step = async <T>(label: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof PolicyApplyError ? err : new PolicyApplyError(label, err);
    }
  };

  // ── tenant ──
  if (options.tenant) {
    const key = options.tenant;
    const label = `tenant:${key}`;
    await step(label, async () => {
      if (await orMissing(() => api.tenants.get(key))) result.unchanged++;
      else {
        await api.tenants.create({ key, name: key });
        created(label);
      }
    });
  }

  const ordered = dependencyOrder(policy.resources);
  const resourceIds = new Map<string, string>();

  // ── resources: actions and attributes ──
  for (const r of ordered) {
    const label = `resource:${r.key}`;
    await step(label, async () => {
      const actions = Object.fromEntries(r.actions.map((a) => [a, { name: a }]));
      const attributes = Object.fromEntries(
        Object.entries(r.attributes).map(([k, v]) => [k, { type: v.type, ...(v.description ? { description: v.description } : {}) }]),
      );
      const existing = await orMissing(() => api.resources.get(r.key));
      if (!existing) {
        const made = await api.resources.create({ key: r.key, name: r.name, description: r.description, actions, attributes });
        if (made?.id) resourceIds.set(made.id, r.key);
        return created(label);
      }
      if (existing.id) resourceIds.set(existing.id, r.key);
      const diff: string[] = [];
      if (existing.name !== r.name) diff.push("name");
      if (r.description !== undefined && (existing.description ?? "") !== r.description) diff.push("description");
      const haveActions = Object.keys(existing.actions ?? {});
      const missingActions = r.actions.filter((a) => !haveActions.includes(a));
      if (missingActions.length) diff.push(`actions +${missingActions.join(" +")}`);
      const haveAttrs = existing.attributes ?? {};
      const wrongAttrs = Object.entries(r.attributes).filter(([k, v]) => haveAttrs[k]?.type !== v.type).map(([k]) => k);
      if (wrongAttrs.length) diff.push(`attributes ${wrongAttrs.join(" ")}`);
      if (!diff.length) return void result.unchanged++;
      // Actions and attributes the environment has beyond the policy are kept (sent back as
      // they are): removing an action is a breaking change left to a person.
      const keepActions = Object.fromEntries(haveActions.map((a) => [a, { name: existing.actions?.[a]?.name ?? a }]));
      const keepAttrs = Object.fromEntries(
        Object.entries(haveAttrs).map(([k, v]) => [k, { type: v.type, ...(v.description ? { description: v.description } : {}) }]),
      );
      await api.resources.update(r.key, {
        name: r.name,
        ...(r.description !== undefined ? { description: r.description } : {}),
        actions: { ...keepActions, ...actions },
        attributes: { ...keepAttrs, ...attributes },
      });
      updated(label, diff);
    });
  }

  // ── relations, then resource roles (derivations need the relation and the other role) ──
  for (const r of ordered) {
    const relations = await step(`relations of ${r.key}`, () =>
      listAll<RelationRead>((page, perPage) => api.resourceRelations.list({ resourceKey: r.key, page, perPage })),
    );
    for (const rel of r.relations) {
      const label = `relation:${r.key}.${rel.key}`;
      await step(label, async () => {
        const existing = relations.find((x) => x.key === rel.key);
        if (existing && existing.subject_resource === rel.subject) return void result.unchanged++;
        if (existing) {
          // A relation's subject cannot be changed in place.
          await api.resourceRelations.delete(r.key, rel.key);
        }
        await api.resourceRelations.create(r.key, { key: rel.key, name: rel.name, subject_resource: rel.subject });
        if (existing) updated(label, [`subject ${existing.subject_resource} → ${rel.subject}`]);
        else created(label);
      });
    }
    for (const role of r.roles) await applyResourceRole(r, role);
  }

  async function applyResourceRole(r: ResourcePolicy, role: ResourceRolePolicy) {
    const label = `resource_role:${r.key}#${role.key}`;
    const grantedTo = { users_with_role: (role.grantedTo ?? []).map(toDerivationBody) };
    await step(label, async () => {
      const existing = await orMissing<ResourceRoleRead>(() => api.resourceRoles.get(r.key, role.key));
      if (!existing) {
        await api.resourceRoles.create(r.key, {
          key: role.key,
          name: role.name,
          description: role.description,
          permissions: [...role.permissions],
          ...(role.grantedTo?.length ? { granted_to: grantedTo } : {}),
        });
        return created(label);
      }
      const diff: string[] = [];
      if (existing.name !== role.name) diff.push("name");
      if (role.description !== undefined && (existing.description ?? "") !== role.description) diff.push("description");
      // Some servers spell resource-role permissions "<resource>:<action>".
      const have = (existing.permissions ?? []).map((p) => (p.startsWith(`${r.key}:`) ? p.slice(r.key.length + 1) : p));
      if (!sameSet(have, role.permissions)) diff.push("permissions");
      const haveDerivations = (existing.granted_to?.users_with_role ?? []).map(derivationId);
      if (!sameSet(haveDerivations, grantedTo.users_with_role.map(derivationId))) diff.push("granted_to");
      if (!diff.length) return void result.unchanged++;
      await api.resourceRoles.update(r.key, role.key, {
        name: role.name,
        ...(role.description !== undefined ? { description: role.description } : {}),
        permissions: [...role.permissions],
        // PATCH replaces the whole derivation list.
        granted_to: grantedTo,
      });
      updated(label, diff);
    });
  }

  // ── tenant roles ──
  for (const role of policy.roles) await applyTenantRole(role);

  async function applyTenantRole(role: TenantRolePolicy) {
    const label = `role:${role.key}`;
    await step(label, async () => {
      const existing = await orMissing<RoleRead>(() => api.roles.get(role.key));
      if (!existing) {
        await api.roles.create({ key: role.key, name: role.name, description: role.description, permissions: [...role.permissions] });
        return created(label);
      }
      const diff: string[] = [];
      if (existing.name !== role.name) diff.push("name");
      if (role.description !== undefined && (existing.description ?? "") !== role.description) diff.push("description");
      if (!sameSet(existing.permissions ?? [], role.permissions)) diff.push("permissions");
      if (!diff.length) return void result.unchanged++;
      await api.roles.update(role.key, {
        name: role.name,
        ...(role.description !== undefined ? { description: role.description } : {}),
        permissions: [...role.permissions],
      });
      updated(label, diff);
    });
  }

  // ── condition sets ──
  const setIds = new Map<string, string>();
  for (const set of policy.conditionSets) await applyConditionSet(set);

  async function applyConditionSet(set: ConditionSetPolicy) {
    const label = `condition_set:${set.key}`;
    const body = {
      key: set.key,
      name: set.name,
      description: set.description,
      type: set.type,
      ...(set.resource ? { resource_id: set.resource } : {}),
      conditions: set.conditions,
    };
    await step(label, async () => {
      const existing = await orMissing<ConditionSetRead>(() => api.conditionSets.get(set.key));
      if (!existing) {
        const made = await api.conditionSets.create(body);
        if (made?.id) setIds.set(made.id, set.key);
        return created(label);
      }
      if (existing.id) setIds.set(existing.id, set.key);
      const existingResource = existing.resource?.key ?? existing.resource_id;
      const resourceMatches =
        set.resource === undefined
          ? !existingResource
          : existingResource === set.resource || resourceIds.get(String(existingResource)) === set.resource;
      if ((existing.type ?? "userset") !== set.type || !resourceMatches) {
        // Type and resource are fixed at creation; the set (and the rules on it) is recreated.
        await api.conditionSets.delete(set.key);
        await api.conditionSets.create(body);
        return updated(label, ["type/resource (recreated)"]);
      }
      const diff: string[] = [];
      if (existing.name !== set.name) diff.push("name");
      if (set.description !== undefined && (existing.description ?? "") !== set.description) diff.push("description");
      if (stableStringify(existing.conditions ?? {}) !== stableStringify(set.conditions)) diff.push("conditions");
      if (!diff.length) return void result.unchanged++;
      await api.conditionSets.update(set.key, {
        name: set.name,
        ...(set.description !== undefined ? { description: set.description } : {}),
        conditions: set.conditions,
      });
      updated(label, diff);
    });
  }

  // ── set rules (condition set × permission × condition set) ──
  // Rules may name their sets by id; the autogenerated sets' ids are only known from the list.
  const allSets = await step("list condition sets", () => listAll<ConditionSetRead>((page, perPage) => api.conditionSets.list({ page, perPage })));
  for (const s of allSets) if (s.id) setIds.set(s.id, s.key);
  const setKey = (keyOrId: string) => setIds.get(keyOrId) ?? keyOrId;
  const wantedRules = policy.setRules.flatMap((rule) =>
    rule.permissions.map((perm) => ({ user_set: rule.userSet, permission: perm, resource_set: rule.resourceSet })),
  );
  for (const rule of wantedRules) {
    const label = setRuleLabel(rule.user_set, rule.permission, rule.resource_set);
    await step(label, async () => {
      const found = await listAll<ConditionSetRuleRead>((page, perPage) =>
        api.conditionSetRules.list({ userSetKey: rule.user_set, permissionKey: rule.permission, resourceSetKey: rule.resource_set, page, perPage }),
      );
      const present = found.some(
        (x) => setKey(x.user_set) === rule.user_set && setKey(x.resource_set) === rule.resource_set && x.permission === rule.permission,
      );
      if (present) return void result.unchanged++;
      await api.conditionSetRules.create(rule);
      created(label);
    });
  }

  if (options.prune) await prune();

  async function prune() {
    const wantedRuleIds = new Set(wantedRules.map((r) => setRuleLabel(r.user_set, r.permission, r.resource_set)));
    const allRules = await step("list set rules", () =>
      listAll<ConditionSetRuleRead>((page, perPage) =>
        // No filter: every rule of the environment.
        api.conditionSetRules.list({ page, perPage } as unknown as Parameters<typeof api.conditionSetRules.list>[0]),
      ),
    );
    for (const x of allRules) {
      const label = setRuleLabel(setKey(x.user_set), x.permission, setKey(x.resource_set));
      if (wantedRuleIds.has(label)) continue;
      await step(label, () => api.conditionSetRules.delete({ user_set: x.user_set, permission: x.permission, resource_set: x.resource_set }));
      removed(label);
    }

    const wantedSets = new Set(policy.conditionSets.map((s) => s.key));
    for (const s of allSets) {
      // Autogenerated sets belong to their role or resource; Permit manages them.
      if (wantedSets.has(s.key) || s.autogenerated || s.key.startsWith("__")) continue;
      await step(`condition_set:${s.key}`, () => api.conditionSets.delete(s.key));
      removed(`condition_set:${s.key}`);
    }

    const wantedRoles = new Set<string>(policy.roles.map((r) => r.key));
    const roles = await step("list roles", () => listAll<RoleRead>((page, perPage) => api.roles.list({ page, perPage })));
    for (const role of roles) {
      if (wantedRoles.has(role.key)) continue;
      await step(`role:${role.key}`, () => api.roles.delete(role.key));
      removed(`role:${role.key}`);
    }

    for (const r of [...ordered].reverse()) {
      const wanted = new Set(r.roles.map((x) => x.key));
      const resourceRoles = await step(`list roles of ${r.key}`, () =>
        listAll<ResourceRoleRead>((page, perPage) => api.resourceRoles.list({ resourceKey: r.key, page, perPage })),
      );
      for (const role of resourceRoles) {
        if (wanted.has(role.key)) continue;
        await step(`resource_role:${r.key}#${role.key}`, () => api.resourceRoles.delete(r.key, role.key));
        removed(`resource_role:${r.key}#${role.key}`);
      }
      const wantedRelations = new Set<string>(r.relations.map((x) => x.key));
      const relations = await step(`list relations of ${r.key}`, () =>
        listAll<RelationRead>((page, perPage) => api.resourceRelations.list({ resourceKey: r.key, page, perPage })),
      );
      for (const rel of relations) {
        if (wantedRelations.has(rel.key)) continue;
        await step(`relation:${r.key}.${rel.key}`, () => api.resourceRelations.delete(r.key, rel.key));
        removed(`relation:${r.key}.${rel.key}`);
      }
    }

    const wantedResources = new Set<string>(policy.resources.map((r) => r.key));
    const resources = await step("list resources", () => listAll<ResourceRead>((page, perPage) => api.resources.list({ page, perPage })));
    for (const res of resources) {
      // `__tenant` and other built-ins are Permit's own.
      if (wantedResources.has(res.key) || res.key.startsWith("__")) continue;
      await step(`resource:${res.key}`, () => api.resources.delete(res.key));
      removed(`resource:${res.key}`);
    }
  }

  return result;
}

/** One line for the end of a run. */
export function summarize(result: ApplyPolicyResult): string {
  const changes = result.created.length + result.updated.length + result.removed.length;
  if (changes === 0) return `Nothing changed: the policy is already applied (${result.unchanged} objects checked).`;
  return (
    `${result.created.length} created, ${result.updated.length} updated, ${result.removed.length} removed, ` +
    `${result.unchanged} unchanged.`
  );
}
