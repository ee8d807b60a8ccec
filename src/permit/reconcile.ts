/**
 * Reconcile: recomputes from the database every fact the API owns in Permit and repairs Permit
 * to match (contract/policy.md, "Facts the API writes"):
 *
 * - users (not deleted) exist, with the tenant role `user`; users deleted in Hanko (tombstones)
 *   are removed with their assignments;
 * - `workspaces:W` instances with `{owner}`, `notes:N` with `{owner, workspace?}`;
 * - resource roles on `workspaces:*` instances, exactly the memberships;
 * - `workspaces:W —parent→ notes:N` tuples.
 *
 * Never touched: tenant roles other than `user` (admin…), user attributes (`plan`), users the
 * database does not know, instances of other resources, roles on instances of other resources,
 * tuples of other relations. Only SDK calls: bulk role assignment and tuple calls in chunks,
 * bounded concurrency for instance and user calls, which have no bulk call in the SDK.
 *
 * Permit is read before the database, and both with fact delivery paused (the caller holds the
 * deliverers' lock), so nothing committed in between is taken for stale.
 *
 * With a `scope` (object keys as the outbox names them: `workspaces:W`, `notes:N`, `users:U`),
 * only the facts that mention one of those objects are compared and repaired, from reads
 * filtered to them: what `npm run permit -- outbox skip` runs for a skipped fact's objects.
 */
import type { Permit, RoleAssignmentRead, UserRead } from "permitio";
import type { DataSource } from "typeorm";
import { NoteAttribute, Relation, Resource, TenantRole, WorkspaceAttribute, workspaceRoleKey } from "../authz/policy";
import { isUuid } from "../common/validation";
import type { WorkspaceRole } from "../workspaces/workspace-member.entity";
import { listAll, orMissing, PAGE_SIZE, tolerating } from "./rest";

export interface ReconcileOptions {
  permit: Pick<Permit, "api">;
  ds: DataSource;
  tenant: string;
  dryRun: boolean;
  /** Parallel calls for the writes without a bulk call (default 16). */
  concurrency?: number;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string) => void;
  /** Only the facts that mention these objects (`workspaces:W`, `notes:N`, `users:U`); every fact when absent. */
  scope?: readonly string[];
}

type Attrs = Record<string, string>;
export interface Assignment {
  user: string;
  role: string;
  instance: string;
}
export interface Tuple {
  subject: string;
  object: string;
}

export interface ReconcileDiff {
  usersMissing: { key: string; email: string | null }[];
  usersDeleted: string[];
  userRolesMissing: string[];
  instancesMissing: { id: string; attributes: Attrs }[];
  instancesChanged: { id: string; attributes: Attrs; was: Record<string, unknown> }[];
  instancesStale: string[];
  rolesMissing: Assignment[];
  rolesStale: Assignment[];
  tuplesMissing: Tuple[];
  tuplesStale: Tuple[];
}

export interface ReconcileReport {
  dryRun: boolean;
  diff: ReconcileDiff;
  /** What the database implies, for the summary. */
  expected: { users: number; workspaces: number; notes: number; memberships: number; tuples: number };
  ms: { read: number; write: number };
}

const BULK = 500;
const instanceId = (type: string, key: string) => `${type}:${key}`;
const typeOf = (id: string) => id.slice(0, id.indexOf(":"));
const sameAttrs = (want: Attrs, have: Record<string, unknown> | undefined) => {
  const h = have ?? {};
  const keys = new Set([...Object.keys(want), ...Object.keys(h).filter((k) => k === NoteAttribute.owner || k === NoteAttribute.workspace)]);
  return [...keys].every((k) => want[k] === h[k]);
};

/** Pages read at once: the latency of Permit's cloud, not its throughput, bounds a long read. */
const READ_AHEAD = 4;

/** Every page of a list, however long (the shared `listAll` stops at 1000 pages), a few pages at a time. */
async function pages<T>(what: string, fetchPage: (page: number, perPage: number) => Promise<T[]>, progress?: (line: string) => void): Promise<T[]> {
  const all: T[] = [];
  let previous = "";
  const started = Date.now();
  const done = () => (progress?.(`  read ${all.length} ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s`), all);
  for (let first = 1; ; first += READ_AHEAD) {
    const batch = await Promise.all(Array.from({ length: READ_AHEAD }, (_, i) => fetchPage(first + i, PAGE_SIZE)));
    for (const [i, items] of batch.entries()) {
      const signature = JSON.stringify(items[0] ?? null);
      // A server that ignores `page` would otherwise be read forever.
      if (first + i > 1 && signature === previous) return done();
      previous = signature;
      all.push(...items);
      if (items.length < PAGE_SIZE) return done();
    }
    if ((first - 1) % 100 === 0 && first > 1) progress?.(`  reading ${what}: ${all.length}…`);
  }
}

async function pool<T>(items: T[], concurrency: number, work: (item: T) => Promise<unknown>, onDone?: (done: number) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
      done++;
      if (onDone && done % 1000 === 0) onDone(done);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Every fact the database implies (policy.md, "Facts the API writes"): users (deleted ones
 * flagged), instances with their attributes by `type:key`, workspace roles and note tuples.
 */
export interface ExpectedFacts {
  users: { id: string; email: string | null; deleted: boolean }[];
  instances: Map<string, Attrs>;
  roles: Assignment[];
  tuples: Tuple[];
  workspaces: number;
  notes: number;
}

/** The ids of a scope by type; every id (null) without a scope. */
interface ScopeIds {
  users: string[] | null;
  workspaces: string[] | null;
  notes: string[] | null;
}

/** A scope's ids by type (only ids the database can hold: any other matches nothing there, and is still read in Permit). */
function scopeIds(scope: readonly string[] | undefined): ScopeIds {
  if (!scope) return { users: null, workspaces: null, notes: null };
  const of = (type: string) => scope.filter((k) => typeOf(k) === type).map((k) => k.slice(type.length + 1));
  return { users: of("users"), workspaces: of(Resource.workspaces), notes: of(Resource.notes) };
}

export async function readExpectedFacts(ds: DataSource, scope?: readonly string[]): Promise<ExpectedFacts> {
  const ids = scopeIds(scope);
  const all = ids.users === null;
  const uuids = (list: string[] | null) => (list ?? []).filter(isUuid);
  const users = (await ds.query(`SELECT id, email, deleted_at IS NOT NULL AS deleted FROM users WHERE $1 OR id = ANY($2::uuid[])`, [all, uuids(ids.users)])) as {
    id: string;
    email: string | null;
    deleted: boolean;
  }[];
  const workspaces = (await ds.query(`SELECT id, owner_id FROM workspaces WHERE $1 OR id = ANY($2::uuid[])`, [all, uuids(ids.workspaces)])) as {
    id: string;
    owner_id: string;
  }[];
  // A note's tuple to its workspace is the note's fact (it is written with the note).
  const notes = (await ds.query(`SELECT id, owner_id, workspace_id FROM notes WHERE $1 OR id = ANY($2::uuid[])`, [all, uuids(ids.notes)])) as {
    id: string;
    owner_id: string;
    workspace_id: string | null;
  }[];
  const members = (await ds.query(`SELECT workspace_id, user_id, role FROM workspace_members WHERE $1 OR workspace_id = ANY($2::uuid[]) OR user_id = ANY($3::uuid[])`, [
    all,
    uuids(ids.workspaces),
    uuids(ids.users),
  ])) as { workspace_id: string; user_id: string; role: WorkspaceRole }[];
  const instances = new Map<string, Attrs>();
  for (const w of workspaces) instances.set(instanceId(Resource.workspaces, w.id), { [WorkspaceAttribute.owner]: w.owner_id });
  for (const n of notes) {
    instances.set(instanceId(Resource.notes, n.id), {
      [NoteAttribute.owner]: n.owner_id,
      ...(n.workspace_id ? { [NoteAttribute.workspace]: n.workspace_id } : {}),
    });
  }
  return {
    users,
    instances,
    roles: members.map((m) => ({ user: m.user_id, role: workspaceRoleKey(m.role), instance: instanceId(Resource.workspaces, m.workspace_id) })),
    tuples: notes
      .filter((n) => n.workspace_id)
      .map((n) => ({ subject: instanceId(Resource.workspaces, n.workspace_id!), object: instanceId(Resource.notes, n.id) })),
    workspaces: workspaces.length,
    notes: notes.length,
  };
}

type InstanceRead = Awaited<ReturnType<Permit["api"]["resourceInstances"]["list"]>>[number];
type TupleRead = Awaited<ReturnType<Permit["api"]["relationshipTuples"]["list"]>>[number];

/** What Permit holds of the facts reconcile compares, read in full or for a scope's objects only. */
interface HeldFacts {
  users: UserRead[];
  assignments: RoleAssignmentRead[];
  instances: InstanceRead[];
  tuples: TupleRead[];
}

async function readPermit(api: Permit["api"], tenant: string, progress?: (line: string) => void): Promise<HeldFacts> {
  const users = await pages("users", async (page, perPage) => (await api.users.list({ page, perPage })).data, progress);
  const assignments = (await pages("role assignments", (page, perPage) => api.roleAssignments.list({ tenant, page, perPage }), progress)) as RoleAssignmentRead[];
  const workspaceInstances = await pages("workspaces", (page, perPage) => api.resourceInstances.list({ tenant, resource: Resource.workspaces, page, perPage }), progress);
  const noteInstances = await pages("notes", (page, perPage) => api.resourceInstances.list({ tenant, resource: Resource.notes, page, perPage }), progress);
  const tuples = await pages(
    "tuples",
    (page, perPage) => api.relationshipTuples.list({ tenant, relation: Relation.parent, subjectType: Resource.workspaces, objectType: Resource.notes, page, perPage }),
    progress,
  );
  return { users, assignments, instances: [...workspaceInstances, ...noteInstances], tuples };
}

/**
 * The same facts, for a scope's objects only: each user with their role assignments, each
 * workspace with the roles on it, each note with its tuple.
 */
async function readPermitScoped(api: Permit["api"], tenant: string, ids: ScopeIds): Promise<HeldFacts> {
  const facts: HeldFacts = { users: [], assignments: [], instances: [], tuples: [] };
  for (const userId of ids.users ?? []) {
    const user = await orMissing(() => api.users.get(userId));
    if (user) facts.users.push(user);
    facts.assignments.push(...(await listAll((page, perPage) => api.roleAssignments.list({ user: userId, tenant, page, perPage })) as RoleAssignmentRead[]));
  }
  for (const workspaceId of ids.workspaces ?? []) {
    const id = instanceId(Resource.workspaces, workspaceId);
    const instance = await orMissing(() => api.resourceInstances.get(id));
    if (instance) facts.instances.push(instance);
    facts.assignments.push(...(await listAll((page, perPage) => api.roleAssignments.list({ resourceInstance: id, tenant, page, perPage })) as RoleAssignmentRead[]));
  }
  for (const noteId of ids.notes ?? []) {
    const id = instanceId(Resource.notes, noteId);
    const instance = await orMissing(() => api.resourceInstances.get(id));
    if (instance) facts.instances.push(instance);
    facts.tuples.push(...(await listAll((page, perPage) => api.relationshipTuples.list({ object: id, relation: Relation.parent, tenant, page, perPage }))));
  }
  return facts;
}

export async function reconcile(options: ReconcileOptions): Promise<ReconcileReport> {
  const { permit, ds, tenant, dryRun, progress } = options;
  const api = permit.api;
  const concurrency = options.concurrency ?? 16;
  const started = Date.now();

  // ── Permit first, then the database ──────────────────────────────────────────────────
  progress?.(options.scope ? `reading Permit for ${options.scope.join(", ")}…` : "reading Permit…");
  const held = options.scope ? await readPermitScoped(api, tenant, scopeIds(options.scope)) : await readPermit(api, tenant, progress);
  const { users: permitUsers, assignments, tuples } = held;

  progress?.("reading the database…");
  const expected = await readExpectedFacts(ds, options.scope);
  const dbUsers = expected.users;

  // ── the diff ─────────────────────────────────────────────────────────────────────────
  const diff: ReconcileDiff = {
    usersMissing: [],
    usersDeleted: [],
    userRolesMissing: [],
    instancesMissing: [],
    instancesChanged: [],
    instancesStale: [],
    rolesMissing: [],
    rolesStale: [],
    tuplesMissing: [],
    tuplesStale: [],
  };
  const inPermit = new Set(permitUsers.map((u) => u.key));
  const withUserRole = new Set(assignments.filter((a) => !a.resource_instance && a.role === TenantRole.user && (a.tenant ?? tenant) === tenant).map((a) => a.user));
  for (const u of dbUsers) {
    if (u.deleted) {
      if (inPermit.has(u.id)) diff.usersDeleted.push(u.id);
      continue;
    }
    if (!inPermit.has(u.id)) diff.usersMissing.push({ key: u.id, email: u.email });
    if (!withUserRole.has(u.id)) diff.userRolesMissing.push(u.id);
  }
  const deleted = new Set(diff.usersDeleted);

  const wantInstances = expected.instances;
  const haveInstances = new Map<string, Record<string, unknown> | undefined>();
  for (const i of held.instances) haveInstances.set(instanceId(i.resource, i.key), i.attributes as Record<string, unknown> | undefined);
  for (const [id, attributes] of wantInstances) {
    if (!haveInstances.has(id)) diff.instancesMissing.push({ id, attributes });
    else if (!sameAttrs(attributes, haveInstances.get(id))) diff.instancesChanged.push({ id, attributes, was: haveInstances.get(id) ?? {} });
  }
  for (const id of haveInstances.keys()) if (!wantInstances.has(id)) diff.instancesStale.push(id);

  const key = (a: Assignment) => `${a.user} ${a.role} ${a.instance}`;
  const wantRoles = new Map<string, Assignment>();
  for (const a of expected.roles) wantRoles.set(key(a), a);
  const haveRoles = new Map<string, Assignment>();
  for (const a of assignments) {
    if (!a.resource_instance || typeOf(a.resource_instance) !== Resource.workspaces || (a.tenant ?? tenant) !== tenant) continue;
    const x = { user: a.user, role: a.role, instance: a.resource_instance };
    haveRoles.set(key(x), x);
  }
  for (const [k, a] of wantRoles) if (!haveRoles.has(k)) diff.rolesMissing.push(a);
  // A deleted user's roles go with the user.
  for (const [k, a] of haveRoles) if (!wantRoles.has(k) && !deleted.has(a.user)) diff.rolesStale.push(a);

  const tkey = (t: Tuple) => `${t.subject} ${t.object}`;
  const wantTuples = new Map<string, Tuple>();
  for (const t of expected.tuples) wantTuples.set(tkey(t), t);
  const haveTuples = new Map<string, Tuple>();
  for (const t of tuples) {
    if (t.relation !== Relation.parent || typeOf(t.subject) !== Resource.workspaces || typeOf(t.object) !== Resource.notes) continue;
    haveTuples.set(tkey(t), { subject: t.subject, object: t.object });
  }
  for (const [k, t] of wantTuples) if (!haveTuples.has(k)) diff.tuplesMissing.push(t);
  // A stale note instance takes its tuples with it.
  const staleInstances = new Set(diff.instancesStale);
  for (const [k, t] of haveTuples) if (!wantTuples.has(k) && !staleInstances.has(t.object) && !staleInstances.has(t.subject)) diff.tuplesStale.push(t);

  const readMs = Date.now() - started;
  const report: ReconcileReport = {
    dryRun,
    diff,
    expected: {
      users: dbUsers.filter((u) => !u.deleted).length,
      workspaces: expected.workspaces,
      notes: expected.notes,
      memberships: expected.roles.length,
      tuples: wantTuples.size,
    },
    ms: { read: readMs, write: 0 },
  };
  if (dryRun) return report;

  // ── repairs: removals first (access only narrows while they run), then additions ─────
  const writeStarted = Date.now();
  const step = (what: string, n: number) => n > 0 && progress?.(`${what}: ${n}…`);

  step("unassigning stale workspace roles", diff.rolesStale.length);
  for (const c of chunks(diff.rolesStale, BULK)) {
    await api.roleAssignments.bulkUnassign(c.map((a) => ({ user: a.user, role: a.role, resource_instance: a.instance, tenant })));
  }
  step("deleting stale tuples", diff.tuplesStale.length);
  for (const c of chunks(diff.tuplesStale, BULK)) {
    await api.relationshipTuples.bulkUnRelationshipTuples(c.map((t) => ({ subject: t.subject, relation: Relation.parent, object: t.object })));
  }
  step("deleting stale instances", diff.instancesStale.length);
  await pool(diff.instancesStale, concurrency, (id) => tolerating([404], () => api.resourceInstances.delete(id)), (d) => progress?.(`  ${d}/${diff.instancesStale.length}`));
  step("deleting users deleted in Hanko", diff.usersDeleted.length);
  await pool(diff.usersDeleted, concurrency, (id) => tolerating([404], () => api.users.delete(id)));

  step("creating missing users", diff.usersMissing.length);
  await pool(diff.usersMissing, concurrency, (u) => tolerating([409], () => api.users.create({ key: u.key, ...(u.email ? { email: u.email } : {}) })));
  step("assigning the role user", diff.userRolesMissing.length);
  for (const c of chunks(diff.userRolesMissing, BULK)) {
    await api.roleAssignments.bulkAssign(c.map((user) => ({ user, role: TenantRole.user, tenant })));
  }
  // Workspaces before notes: a note's tuple names its workspace.
  const missing = [...diff.instancesMissing].sort((a, b) => Number(typeOf(b.id) === Resource.workspaces) - Number(typeOf(a.id) === Resource.workspaces));
  step("creating missing instances", missing.length);
  await pool(
    missing,
    concurrency,
    (i) => tolerating([409], () => api.resourceInstances.create({ key: i.id.slice(i.id.indexOf(":") + 1), resource: typeOf(i.id), tenant, attributes: i.attributes })),
    (d) => progress?.(`  ${d}/${missing.length}`),
  );
  step("updating instance attributes", diff.instancesChanged.length);
  await pool(diff.instancesChanged, concurrency, (i) => api.resourceInstances.update(i.id, { attributes: i.attributes }));
  step("creating missing tuples", diff.tuplesMissing.length);
  for (const c of chunks(diff.tuplesMissing, BULK)) {
    await api.relationshipTuples.bulkRelationshipTuples(c.map((t) => ({ subject: t.subject, relation: Relation.parent, object: t.object, tenant })));
  }
  step("assigning missing workspace roles", diff.rolesMissing.length);
  for (const c of chunks(diff.rolesMissing, BULK)) {
    await api.roleAssignments.bulkAssign(c.map((a) => ({ user: a.user, role: a.role, resource_instance: a.instance, tenant })));
  }
  const synced = dbUsers.filter((u) => !u.deleted).map((u) => u.id);
  for (const c of chunks(synced, 10_000)) await ds.query(`UPDATE users SET permit_synced_at = COALESCE(permit_synced_at, now()) WHERE id = ANY($1::uuid[])`, [c]);
  report.ms.write = Date.now() - writeStarted;
  return report;
}

/** The diff as lines (`+` create, `-` remove, `~` change), for `--dry-run`. */
export function diffLines(diff: ReconcileDiff): string[] {
  const attrs = (a: Record<string, unknown>) => JSON.stringify(Object.fromEntries(Object.entries(a).sort(([x], [y]) => x.localeCompare(y))));
  return [
    ...diff.usersMissing.map((u) => `+ user ${u.key}${u.email ? ` <${u.email}>` : ""}`),
    ...diff.userRolesMissing.map((u) => `+ role ${TenantRole.user} ${u}`),
    ...diff.usersDeleted.map((u) => `- user ${u} (deleted in Hanko)`),
    ...diff.instancesMissing.map((i) => `+ instance ${i.id} ${attrs(i.attributes)}`),
    ...diff.instancesChanged.map((i) => `~ instance ${i.id} ${attrs(i.was)} → ${attrs(i.attributes)}`),
    ...diff.instancesStale.map((i) => `- instance ${i}`),
    ...diff.rolesMissing.map((a) => `+ role ${a.role} ${a.user} on ${a.instance}`),
    ...diff.rolesStale.map((a) => `- role ${a.role} ${a.user} on ${a.instance}`),
    ...diff.tuplesMissing.map((t) => `+ tuple ${t.subject} ${Relation.parent} ${t.object}`),
    ...diff.tuplesStale.map((t) => `- tuple ${t.subject} ${Relation.parent} ${t.object}`),
  ];
}

/** Counts per kind of fact, as a readable table. */
export function summaryLines(report: ReconcileReport): string[] {
  const d = report.diff;
  const row = (what: string, ...cells: (number | string)[]) => `${what.padEnd(18)}${cells.map((c) => String(c).padStart(10)).join("")}`;
  const count = (list: ({ id: string } | string)[], type: string) => list.filter((x) => typeOf(typeof x === "string" ? x : x.id) === type).length;
  const ws = Resource.workspaces;
  const notes = Resource.notes;
  return [
    row("", "in the db", report.dryRun ? "to create" : "created", report.dryRun ? "to change" : "changed", report.dryRun ? "to remove" : "removed"),
    row("users", report.expected.users, d.usersMissing.length, "-", d.usersDeleted.length),
    row("role user", report.expected.users, d.userRolesMissing.length, "-", "-"),
    row("workspaces", report.expected.workspaces, count(d.instancesMissing, ws), count(d.instancesChanged, ws), count(d.instancesStale, ws)),
    row("workspace roles", report.expected.memberships, d.rolesMissing.length, "-", d.rolesStale.length),
    row("notes", report.expected.notes, count(d.instancesMissing, notes), count(d.instancesChanged, notes), count(d.instancesStale, notes)),
    row("note tuples", report.expected.tuples, d.tuplesMissing.length, "-", d.tuplesStale.length),
  ];
}

/** The number of changes in the diff. */
export function changeCount(diff: ReconcileDiff): number {
  return Object.values(diff).reduce((n: number, list: unknown[]) => n + list.length, 0);
}
