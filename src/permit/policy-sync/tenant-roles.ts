/** Tenant-level roles (`"<resource>:<action>"` permissions). */
import type { RoleRead } from "permitio";
import type { TenantRolePolicy } from "../../authz/policy";
import { orMissing } from "../rest";
import { describedAs, describedDiff, pruneExtra, reconcile, sameSet, type SyncRun } from "./reconcile";

export function syncTenantRoles(run: SyncRun, roles: readonly TenantRolePolicy[]): Promise<void> {
  const api = run.api;
  return reconcile<TenantRolePolicy, RoleRead>(run, roles, {
    label: (role) => `role:${role.key}`,
    read: (role) => orMissing(() => api.roles.get(role.key)),
    create: async (role) =>
      void (await api.roles.create({ key: role.key, name: role.name, description: role.description, permissions: [...role.permissions] })),
    change: (role, existing) => {
      const diff = describedDiff(role, existing);
      if (!sameSet(existing.permissions ?? [], role.permissions)) diff.push("permissions");
      if (!diff.length) return undefined;
      return {
        what: diff,
        write: async () => void (await api.roles.update(role.key, { ...describedAs(role), permissions: [...role.permissions] })),
      };
    },
  });
}

export async function pruneTenantRoles(run: SyncRun, roles: readonly TenantRolePolicy[]): Promise<void> {
  const api = run.api;
  const wanted = new Set<string>(roles.map((r) => r.key));
  const actual = await run.list("list roles", (page, perPage) => api.roles.list({ page, perPage }));
  await pruneExtra(run, actual, {
    label: (role) => `role:${role.key}`,
    keep: (role) => wanted.has(role.key),
    remove: (role) => api.roles.delete(role.key),
  });
}
