/**
 * What the PDP holds against what the database implies (contract/policy.md, "Facts the API
 * writes"): workspace and note instances with their attributes, workspace role assignments,
 * and note → workspace tuples. Both sides are rendered as sorted lines, so a failing
 * assertion shows exactly which fact is missing or extra. `outboxSettled` waits until the
 * comparison is due: every recorded fact delivered.
 */
import type { Permit } from "permitio";

type Sql = <T>(text: string, params?: unknown[]) => Promise<T[]>;

export interface FactState {
  instances: string[];
  roles: string[];
  tuples: string[];
}

async function all<T>(fetchPage: (page: number) => Promise<T[]>): Promise<T[]> {
  const items: T[] = [];
  for (let page = 1; ; page++) {
    const batch = await fetchPage(page);
    items.push(...batch);
    if (batch.length < 100) return items;
  }
}

export async function pdpFacts(permit: Permit, tenant = "default"): Promise<FactState> {
  const instances = await all((page) => permit.api.resourceInstances.list({ tenant, page, perPage: 100 }));
  const roles = await all((page) => permit.api.roleAssignments.list({ tenant, page, perPage: 100 }));
  const tuples = await all((page) => permit.api.relationshipTuples.list({ tenant, page, perPage: 100 }));
  return {
    instances: instances
      .map((i) => `${i.resource}:${i.key} ${JSON.stringify(sortKeys((i.attributes ?? {}) as Record<string, unknown>))}`)
      .sort(),
    // Tenant-level roles (user, admin) are not facts the outbox writes.
    roles: roles
      .filter((r) => r.resource_instance)
      .map((r) => `${r.user} ${r.role} ${r.resource_instance}`)
      .sort(),
    tuples: tuples.map((t) => `${t.subject} ${t.relation} ${t.object}`).sort(),
  };
}

export async function databaseFacts(sql: Sql): Promise<FactState> {
  const workspaces = await sql<{ id: string; owner_id: string }>(`SELECT id, owner_id FROM workspaces`);
  const notes = await sql<{ id: string; owner_id: string; workspace_id: string | null }>(`SELECT id, owner_id, workspace_id FROM notes`);
  const members = await sql<{ workspace_id: string; user_id: string; role: string }>(`SELECT workspace_id, user_id, role FROM workspace_members`);
  return {
    instances: [
      ...workspaces.map((w) => `workspaces:${w.id} ${JSON.stringify({ owner: w.owner_id })}`),
      ...notes.map((n) => `notes:${n.id} ${JSON.stringify(sortKeys({ owner: n.owner_id, ...(n.workspace_id ? { workspace: n.workspace_id } : {}) }))}`),
    ].sort(),
    roles: members.map((m) => `${m.user_id} ${m.role.toLowerCase()} workspaces:${m.workspace_id}`).sort(),
    tuples: notes
      .filter((n) => n.workspace_id)
      .map((n) => `workspaces:${n.workspace_id} parent notes:${n.id}`)
      .sort(),
  };
}

/** Waits until the outbox holds no undelivered fact: the PDP has acknowledged every one recorded. */
export async function outboxSettled(sql: Sql, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await sql<{ n: number; last_error: string | null }>(
      `SELECT count(*)::int AS n, max(last_error) AS last_error FROM permit_outbox WHERE delivered_at IS NULL`,
    );
    if (row!.n === 0) return;
    if (Date.now() > deadline) throw new Error(`${row!.n} facts still pending after ${timeoutMs} ms (last error: ${row!.last_error})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function sortKeys(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
}
