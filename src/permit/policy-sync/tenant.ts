/** The tenant decisions are made in: created when missing, never changed or pruned. */
import { orMissing } from "../rest";
import { reconcile, type SyncRun } from "./reconcile";

export function syncTenant(run: SyncRun, tenant: string): Promise<void> {
  const api = run.api;
  return reconcile(run, [tenant], {
    label: (key) => `tenant:${key}`,
    read: (key) => orMissing(() => api.tenants.get(key)),
    create: async (key) => void (await api.tenants.create({ key, name: key })),
  });
}
