/**
 * Reads the live policy and a user's direct role assignments from Permit's API, in the shapes
 * list planning needs (`@notes/local-pdp`'s PlanPolicy). These are REST reads: callers cache
 * them (authz/list-plan.ts) and never take a decision from them.
 */
import type { PlanPolicy } from "@notes/local-pdp";
import type { Permit } from "permitio";
import { listAll } from "./rest";


export async function readPlanPolicy(permit: Pick<Permit, "api">): Promise<PlanPolicy> {
  const { api } = permit;
  const [roles, resources, conditionSets, setRules] = await Promise.all([
    api.roles.list(),
    api.resources.list(),
    listAll((page, perPage) => api.conditionSets.list({ page, perPage })),
    // The SDK types its filters as required; unset, it lists every rule.
    listAll((page, perPage) => api.conditionSetRules.list({ page, perPage } as unknown as Parameters<typeof api.conditionSetRules.list>[0])),
  ]);
  const resourceKeyOf = new Map(resources.flatMap((r) => [[r.id, r.key] as const, [r.key, r.key] as const]));
  const resourceRoles = (
    await Promise.all(resources.map((r) => listAll((page, perPage) => api.resourceRoles.list({ resourceKey: r.key, page, perPage }))))
  ).flatMap((list, i) =>
    list.map((role) => ({
      resource: resources[i]!.key,
      key: role.key,
      permissions: role.permissions ?? [],
      derivations: (role.granted_to?.users_with_role ?? []).map((d) => ({
        role: d.role,
        on_resource: d.on_resource,
        linked_by_relation: d.linked_by_relation,
      })),
    })),
  );
  return {
    roles: roles.map((r) => ({ key: r.key, permissions: r.permissions ?? [] })),
    resourceRoles,
    conditionSets: conditionSets.map((s) => ({
      key: s.key,
      type: s.type === "resourceset" ? "resourceset" : "userset",
      resource: s.resource?.key ?? (s.resource_id === undefined ? undefined : resourceKeyOf.get(String(s.resource_id))),
      conditions: s.conditions,
    })),
    setRules: setRules.map((r) => ({ user_set: r.user_set, permission: r.permission, resource_set: r.resource_set })),
  };
}

/** A user's own assignments: tenant roles, and roles on instances (`type:key` → role keys). */
export interface UserAssignments {
  tenantRoles: string[];
  instanceRoles: Map<string, string[]>;
}

export async function readUserAssignments(permit: Pick<Permit, "api">, userId: string, tenant: string): Promise<UserAssignments> {
  const assignments = await listAll((page, perPage) => permit.api.roleAssignments.list({ user: userId, tenant, page, perPage }));
  const tenantRoles = new Set<string>();
  const instanceRoles = new Map<string, string[]>();
  for (const a of assignments) {
    if (a.user !== userId && a.user_id !== userId) continue;
    if (!a.resource_instance) tenantRoles.add(a.role);
    else instanceRoles.set(a.resource_instance, [...(instanceRoles.get(a.resource_instance) ?? []), a.role]);
  }
  return { tenantRoles: [...tenantRoles].sort(), instanceRoles };
}
