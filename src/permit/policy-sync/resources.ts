/** Resources with their actions and attributes. */
import type { ResourceRead } from "permitio";
import type { ResourcePolicy } from "../../authz/policy";
import { orMissing } from "../rest";
import { describedAs, describedDiff, pruneExtra, reconcile, type SyncRun } from "./reconcile";

/** Resource keys by their id in the environment (condition sets may name their resource by id). */
export type ResourceIds = Map<string, string>;

/** Resources ordered so that a relation's subject comes before the resource defining it. */
export function dependencyOrder(resources: readonly ResourcePolicy[]): ResourcePolicy[] {
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

type AttributeBody<T> = { type: T; description?: string };
const attributeBodies = <T>(attributes: Readonly<Record<string, AttributeBody<T>>>): Record<string, AttributeBody<T>> =>
  Object.fromEntries(Object.entries(attributes).map(([k, v]) => [k, { type: v.type, ...(v.description ? { description: v.description } : {}) }]));
const actionBodies = (r: ResourcePolicy) => Object.fromEntries(r.actions.map((a) => [a, { name: a }]));

export function syncResources(run: SyncRun, ordered: readonly ResourcePolicy[], ids: ResourceIds): Promise<void> {
  const api = run.api;
  return reconcile<ResourcePolicy, ResourceRead>(run, ordered, {
    label: (r) => `resource:${r.key}`,
    read: async (r) => {
      const existing = await orMissing(() => api.resources.get(r.key));
      if (existing?.id) ids.set(existing.id, r.key);
      return existing;
    },
    create: async (r) => {
      const made = await api.resources.create({
        key: r.key,
        name: r.name,
        description: r.description,
        actions: actionBodies(r),
        attributes: attributeBodies(r.attributes),
      });
      if (made?.id) ids.set(made.id, r.key);
    },
    change: (r, existing) => {
      const diff = describedDiff(r, existing);
      const haveActions = Object.keys(existing.actions ?? {});
      const missingActions = r.actions.filter((a) => !haveActions.includes(a));
      if (missingActions.length) diff.push(`actions +${missingActions.join(" +")}`);
      const haveAttrs = existing.attributes ?? {};
      const wrongAttrs = Object.entries(r.attributes).filter(([k, v]) => haveAttrs[k]?.type !== v.type).map(([k]) => k);
      if (wrongAttrs.length) diff.push(`attributes ${wrongAttrs.join(" ")}`);
      if (!diff.length) return undefined;
      // Actions and attributes the environment has beyond the policy are kept (sent back as
      // they are): removing an action is a breaking change left to a person.
      const keepActions = Object.fromEntries(haveActions.map((a) => [a, { name: existing.actions?.[a]?.name ?? a }]));
      return {
        what: diff,
        write: async () =>
          void (await api.resources.update(r.key, {
            ...describedAs(r),
            actions: { ...keepActions, ...actionBodies(r) },
            attributes: { ...attributeBodies(haveAttrs), ...attributeBodies(r.attributes) },
          })),
      };
    },
  });
}

export async function pruneResources(run: SyncRun, resources: readonly ResourcePolicy[]): Promise<void> {
  const api = run.api;
  const wanted = new Set<string>(resources.map((r) => r.key));
  const actual = await run.list("list resources", (page, perPage) => api.resources.list({ page, perPage }));
  await pruneExtra(run, actual, {
    label: (res) => `resource:${res.key}`,
    // `__tenant` and other built-ins are Permit's own.
    keep: (res) => wanted.has(res.key) || res.key.startsWith("__"),
    remove: (res) => api.resources.delete(res.key),
  });
}
