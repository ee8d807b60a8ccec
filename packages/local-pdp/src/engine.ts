/**
 * The decision function without the server: a policy and a set of facts loaded into a store of
 * their own and decided in-process, with the same evaluator (and so the same semantics) as the
 * PDP's `/allowed`. Used to ask "what would this policy decide over these facts" without
 * touching any running PDP: two engines over the same facts compare two policies.
 *
 * Everything is loaded through the operations the REST API uses (ops/apply.ts), so a policy
 * the PDP would refuse is refused here too (an ApiError naming the object). Facts that name
 * what the policy does not define (a role, a resource type or a relation it lacks) are left
 * out and counted, as Permit drops them when the role or type is deleted.
 */
import { AUTOGEN, instanceType, type Json, type JsonObject } from "./model";
import { applyOp } from "./ops/apply";
import type { OpBody, Op } from "./ops/op";
import { Evaluator, RequestMemo, type Decision } from "./evaluator";
import { Store } from "./store";

/** A policy as Permit's schema API describes it: what a decision depends on, nothing more. */
export interface EnginePolicy {
  resources: {
    key: string;
    actions: string[];
    /** Relations defined on this resource (the object side), by key, with their subject type. */
    relations: { key: string; subject_resource: string }[];
    roles: {
      key: string;
      permissions: string[];
      derivations: { role: string; on_resource: string; linked_by_relation: string }[];
    }[];
  }[];
  /** Tenant roles with their `type:action` permissions. */
  roles: { key: string; permissions: string[] }[];
  conditionSets: { key: string; type: "userset" | "resourceset"; resource?: string; conditions: unknown }[];
  setRules: { user_set: string; permission: string; resource_set: string }[];
}

/** The facts of one tenant: users with their attributes, roles, instances and tuples. */
export interface EngineFacts {
  tenant: string;
  users: { key: string; email?: string; attributes?: Record<string, unknown> }[];
  tenantRoles: { user: string; role: string }[];
  instances: { type: string; key: string; attributes: Record<string, unknown> }[];
  /** Roles on instances, `instance` spelled `type:key`. */
  instanceRoles: { user: string; role: string; instance: string }[];
  tuples: { subject: string; relation: string; object: string }[];
}

/** A check as the SDK sends it (user key only: the engine's stored user supplies the rest). */
export interface EngineCheck {
  user: string;
  action: string;
  resource: { type: string; key?: string; attributes?: Record<string, unknown> };
}

export class DecisionEngine {
  private readonly evaluator: Evaluator;
  private memo = new RequestMemo();

  private constructor(
    private readonly store: Store,
    readonly tenant: string,
    /** Facts left out because the policy does not define what they name. */
    readonly skippedFacts: number,
  ) {
    this.evaluator = new Evaluator(store);
  }

  /** Loads the policy, then the facts; throws the PDP's ApiError when the policy is invalid. */
  static load(policy: EnginePolicy, facts: EngineFacts): DecisionEngine {
    const store = new Store();
    const at = new Date().toISOString();
    const apply = (body: OpBody) => store.transaction(() => applyOp(store, { ...body, at } as Op));
    apply({ t: "tenant.create", key: facts.tenant, name: facts.tenant });

    // Schema, in dependency order: resources, relations, roles, then derivations (which name
    // other resources' roles), tenant roles, sets, rules.
    for (const r of policy.resources) {
      apply({ t: "resource.create", key: r.key, body: { actions: Object.fromEntries(r.actions.map((a) => [a, {}])) } });
    }
    for (const r of policy.resources) {
      for (const rel of r.relations) apply({ t: "relation.create", resource: r.key, key: rel.key, subject_resource: rel.subject_resource });
    }
    for (const r of policy.resources) {
      for (const role of r.roles) apply({ t: "rrole.create", resource: r.key, role: { key: role.key, permissions: role.permissions } });
    }
    for (const r of policy.resources) {
      for (const role of r.roles) {
        if (role.derivations.length === 0) continue;
        apply({ t: "rrole.update", resource: r.key, key: role.key, patch: { granted_to: { users_with_role: role.derivations } } });
      }
    }
    for (const role of policy.roles) apply({ t: "role.create", role: { key: role.key, permissions: role.permissions } });
    for (const set of policy.conditionSets) {
      apply({ t: "cset.create", set: { key: set.key, type: set.type, resource_id: set.resource, conditions: set.conditions as JsonObject } });
    }
    for (const rule of policy.setRules) apply({ t: "setrule.create", rule });

    // Facts: only what the schema can hold.
    let skipped = 0;
    const resources = new Map(policy.resources.map((r) => [r.key, r]));
    const tenantRoles = new Set(policy.roles.map((r) => r.key));
    const keep = (ok: boolean) => ok || (skipped++, false);
    for (const u of facts.users) {
      apply({ t: "user.create", user: { key: u.key, email: u.email, attributes: (u.attributes ?? {}) as JsonObject } });
    }
    for (const i of facts.instances) {
      if (!keep(resources.has(i.type))) continue;
      apply({ t: "instance.create", key: i.key, resource: i.type, tenant: facts.tenant, attributes: i.attributes as Record<string, Json> });
    }
    const assignments = [
      ...facts.tenantRoles.filter((a) => keep(tenantRoles.has(a.role))).map((a) => ({ user: a.user, role: a.role, tenant: facts.tenant })),
      ...facts.instanceRoles
        .filter((a) => keep(resources.get(instanceType(a.instance))?.roles.some((r) => r.key === a.role) ?? false))
        .map((a) => ({ user: a.user, role: a.role, resource_instance: a.instance, tenant: facts.tenant })),
    ];
    apply({ t: "assignment.bulkCreate", assignments });
    const tuples = facts.tuples.filter((t) =>
      keep(
        (resources.get(instanceType(t.object))?.relations.some((rel) => rel.key === t.relation && rel.subject_resource === instanceType(t.subject)) ?? false) &&
          resources.has(instanceType(t.subject)),
      ),
    );
    apply({ t: "tuple.bulkCreate", tuples: tuples.map((t) => ({ ...t, tenant: facts.tenant })) });
    return new DecisionEngine(store, facts.tenant, skipped);
  }

  /** The decision `/allowed` would answer, with every model's result. */
  check(input: EngineCheck): Decision {
    return this.evaluator.check(
      {
        user: { key: input.user },
        action: input.action,
        resource: { ...input.resource, attributes: input.resource.attributes as JsonObject | undefined, tenant: this.tenant },
        context: {},
      },
      this.memo,
    );
  }

  /**
   * Everything in this engine's policy that a decision on (`type`, `action`) can depend on, as
   * one canonical string. Two engines over the same facts whose strings are equal decide every
   * such check alike, so a comparison may skip them; unequal strings say nothing (the checks
   * must be decided). It takes in, read from the store as the evaluator reads it:
   * - whether the type has the action (the precheck);
   * - every tenant role, and whether it grants `type:action` (RBAC; the roles' existence
   *   decides which assignments are kept and what `user.roles` holds for ABAC);
   * - every resource with its relations and roles, their derivations and, on `type`, whether
   *   each role grants `action` (ReBAC: roles derive across types; a missing role, relation or
   *   type drops its facts);
   * - the set rules on `type:action` and the sets they name, with their ancestors (ABAC).
   */
  dependenciesOf(type: string, action: string): string {
    const byKey = <T extends { key: string }>(items: Iterable<T>) => [...items].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const resource = this.store.resources.get(type);
    const permission = `${type}:${action}`;
    const applicable = [...this.store.setRules.values()].filter((r) => r.permission === permission);
    const rules = applicable.map((r) => `${r.user_set}\u0000${r.resource_set}`).sort();
    const sets: unknown[] = [];
    const named = new Set(applicable.flatMap((r) => [r.user_set, r.resource_set]));
    for (const key of [...named].sort()) {
      if (key.startsWith(AUTOGEN)) continue;
      for (let set = this.store.conditionSets.get(key), depth = 0; set && depth <= 64; set = set.parent_id ? this.store.conditionSets.get(set.parent_id) : undefined, depth++) {
        sets.push([set.key, set.type, set.resource_id ?? null, set.conditions, set.parent_id ?? null]);
      }
      if (!this.store.conditionSets.has(key)) sets.push([key, null]);
    }
    return JSON.stringify({
      action: resource !== undefined && Object.hasOwn(resource.actions, action),
      tenantRoles: byKey(this.store.roles.values()).map((r) => [r.key, r.permissions.includes(permission)]),
      resources: byKey(this.store.resources.values()).map((r) => ({
        key: r.key,
        relations: byKey(Object.values(r.relations)).map((rel) => [rel.key, rel.subject_resource]),
        roles: byKey(Object.values(r.roles)).map((role) => ({
          key: role.key,
          noDirect: role.no_direct_roles_on_object,
          derivations: role.derivations
            .map((d) => `${d.role}\u0000${d.on_resource}\u0000${d.linked_by_relation}\u0000${d.no_direct_roles_on_object}`)
            .sort(),
          ...(r.key === type ? { grants: role.permissions.includes(action) } : {}),
        })),
      })),
      rules,
      sets,
    });
  }

  /**
   * Forgets the relationship roles computed so far. They are memoized per user and instance
   * across checks (as within one bulk call); call this between users to bound the memory.
   */
  forgetMemo(): void {
    this.memo = new RequestMemo();
  }
}
