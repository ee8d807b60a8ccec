/** Relations of one resource (`subject —key→ object`). */
import type { Permit } from "permitio";
import type { RelationPolicy, ResourcePolicy } from "../../authz/policy";
import { pruneExtra, reconcile, type SyncRun } from "./reconcile";

// Not re-exported by the package root in 2.7.6.
type RelationRead = Awaited<ReturnType<Permit["api"]["resourceRelations"]["get"]>>;

const listRelations = (run: SyncRun, label: string, r: ResourcePolicy) =>
  run.list<RelationRead>(label, (page, perPage) => run.api.resourceRelations.list({ resourceKey: r.key, page, perPage }));

export async function syncRelations(run: SyncRun, r: ResourcePolicy): Promise<void> {
  const api = run.api;
  const create = async (rel: RelationPolicy) =>
    void (await api.resourceRelations.create(r.key, { key: rel.key, name: rel.name, subject_resource: rel.subject }));
  const relations = await listRelations(run, `relations of ${r.key}`, r);
  await reconcile<RelationPolicy, RelationRead>(run, r.relations, {
    label: (rel) => `relation:${r.key}.${rel.key}`,
    read: async (rel) => relations.find((x) => x.key === rel.key),
    create,
    change: (rel, existing) =>
      existing.subject_resource === rel.subject
        ? undefined
        : {
            what: [`subject ${existing.subject_resource} → ${rel.subject}`],
            // A relation's subject cannot be changed in place.
            write: async () => {
              await api.resourceRelations.delete(r.key, rel.key);
              await create(rel);
            },
          },
  });
}

export async function pruneRelations(run: SyncRun, r: ResourcePolicy): Promise<void> {
  const wanted = new Set<string>(r.relations.map((x) => x.key));
  await pruneExtra(run, await listRelations(run, `list relations of ${r.key}`, r), {
    label: (rel) => `relation:${r.key}.${rel.key}`,
    keep: (rel) => wanted.has(rel.key),
    remove: (rel) => run.api.resourceRelations.delete(r.key, rel.key),
  });
}
