/** Roles on the instances of one resource, with their derivations (`granted_to`). */
import type { Permit } from "permitio";
import type { Derivation, ResourcePolicy, ResourceRolePolicy } from "../../authz/policy";
import { orMissing } from "../rest";
import { describedAs, describedDiff, pruneExtra, reconcile, sameSet, type SyncRun } from "./reconcile";

// Not re-exported by the package root in 2.7.6.
type ResourceRoleRead = Awaited<ReturnType<Permit["api"]["resourceRoles"]["get"]>>;

const derivationId = (d: { role: string; on_resource: string; linked_by_relation: string }) =>
  `${d.on_resource}#${d.role}@${d.linked_by_relation}`;

const derivationBody = (d: Derivation) => ({ role: d.role, on_resource: d.onResource, linked_by_relation: d.linkedByRelation });

export function syncResourceRoles(run: SyncRun, r: ResourcePolicy): Promise<void> {
  const api = run.api;
  const grantedTo = (role: ResourceRolePolicy) => ({ users_with_role: (role.grantedTo ?? []).map(derivationBody) });
  return reconcile<ResourceRolePolicy, ResourceRoleRead>(run, r.roles, {
    label: (role) => `resource_role:${r.key}#${role.key}`,
    read: (role) => orMissing(() => api.resourceRoles.get(r.key, role.key)),
    create: async (role) =>
      void (await api.resourceRoles.create(r.key, {
        key: role.key,
        name: role.name,
        description: role.description,
        permissions: [...role.permissions],
        ...(role.grantedTo?.length ? { granted_to: grantedTo(role) } : {}),
      })),
    change: (role, existing) => {
      const diff = describedDiff(role, existing);
      // Some servers spell resource-role permissions "<resource>:<action>".
      const have = (existing.permissions ?? []).map((p) => (p.startsWith(`${r.key}:`) ? p.slice(r.key.length + 1) : p));
      if (!sameSet(have, role.permissions)) diff.push("permissions");
      const haveDerivations = (existing.granted_to?.users_with_role ?? []).map(derivationId);
      if (!sameSet(haveDerivations, grantedTo(role).users_with_role.map(derivationId))) diff.push("granted_to");
      if (!diff.length) return undefined;
      return {
        what: diff,
        write: async () =>
          void (await api.resourceRoles.update(r.key, role.key, {
            ...describedAs(role),
            permissions: [...role.permissions],
            // PATCH replaces the whole derivation list.
            granted_to: grantedTo(role),
          })),
      };
    },
  });
}

export async function pruneResourceRoles(run: SyncRun, r: ResourcePolicy): Promise<void> {
  const api = run.api;
  const wanted = new Set(r.roles.map((x) => x.key));
  const actual = await run.list<ResourceRoleRead>(`list roles of ${r.key}`, (page, perPage) =>
    api.resourceRoles.list({ resourceKey: r.key, page, perPage }),
  );
  await pruneExtra(run, actual, {
    label: (role) => `resource_role:${r.key}#${role.key}`,
    keep: (role) => wanted.has(role.key),
    remove: (role) => api.resourceRoles.delete(r.key, role.key),
  });
}
