import type { PlanCondition } from "@notes/local-pdp";
import type { DataSource, EntityManager } from "typeorm";
import { NoteAttribute, Relation, Resource, workspaceRoleFromKey } from "../authz/policy";
import type { WorkspaceRole } from "../workspaces/workspace-member.entity";
import type { Position } from "../common/cursor";
import { isUuid } from "../common/validation";
import { execute } from "../db/sql";
import { Note } from "./note.entity";

/**
 * Which notes a page may draw from: every row, none, or those a list plan selects
 * (authz/list-plan.ts). `instanceRoles` are the caller's own role assignments on instances,
 * as `type:key` → role keys, for the parts of the plan that name roles.
 */
export type NoteCandidates =
  | { kind: "all" }
  | { kind: "none" }
  | { kind: "where"; condition: PlanCondition; userId: string; instanceRoles: ReadonlyMap<string, readonly string[]> };

/**
 * A note as a list page reads it: without its body when the page does not select one. A body
 * runs to 100,000 characters, and a list screen mostly shows titles: reading 50 bodies of 4 KB
 * each cost a page more API CPU than its authorization (bench/README.md).
 */
export type ListedNote = Omit<Note, "body"> & { body?: string };

/** Whether a listed note was read whole (with its body), as a loader may hold it. */
export const isWholeNote = (note: ListedNote): note is Note => note.body !== undefined;

/** Rows after a position, newest first, at most `limit`, optionally within one workspace. */
export type NoteScanner = (position: Position | null, limit: number, workspaceId: string | null) => Promise<ListedNote[]>;

export interface Membership {
  workspace_id: string;
  role: WorkspaceRole;
}

export class NoteRepository {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<Note[]> {
    return this.ds.getRepository(Note).createQueryBuilder("n").where("n.id IN (:...ids)", { ids }).getMany();
  }

  /**
   * The reader of a list's pages: rows after a position in (createdAt DESC, id DESC) order,
   * among the candidates; each part of a plan is one index range scan (by owner, by workspace,
   * or by date). `memberships` (`membershipsFor`) are read once for a page, not for every batch.
   * `withBodies`: whether the rows carry their bodies (the page selects `body`).
   */
  scanner(candidates: NoteCandidates, memberships: readonly Membership[], withBodies: boolean): NoteScanner {
    if (candidates.kind === "none") return async () => [];
    const [columns, rowToNote] = withBodies ? [NOTE_COLUMNS, noteOf] : [LISTED_NOTE_COLUMNS, listedNoteOf];
    const restriction = candidates.kind === "where" ? planRestriction(candidates, memberships) : undefined;
    return async (position, limit, workspaceId) => {
      const window = (a: string) => [
        ...(workspaceId === null ? [] : [`${a}.workspace_id = :workspaceId`]),
        ...(position === null ? [] : [`(${a}.created_at, ${a}.id) < (:createdAt, :id)`]),
      ];
      const where = [...window("n"), ...(restriction ? [restriction.sql((a) => window(a).join(" AND "))] : [])];
      const params = { ...restriction?.params, workspaceId, limit, ...(position === null ? {} : { createdAt: position.createdAt, id: position.id }) };
      // Written as SQL, not through a query builder: a page's scan runs on every list request,
      // and building it was a visible share of a page's CPU. TypeORM still binds the parameters.
      const [sql, values] = this.ds.driver.escapeQueryWithParameters(
        `SELECT ${columns} FROM notes n${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""} ORDER BY n.created_at DESC, n.id DESC LIMIT :limit`,
        params,
      );
      return ((await this.ds.query(sql, values)) as NoteRow[]).map(rowToNote);
    };
  }

  /**
   * For plans of this caller's actions: whether a note lies outside the plan of an action, so
   * that no rule of the policy can allow it there (the plan is never narrower than the policy).
   * A condition that cannot be told here counts as inside.
   */
  outsidePlans(plans: ReadonlyMap<string, NoteCandidates>, memberships: readonly Membership[]): (action: string, note: ListedNote) => boolean {
    const matchers = new Map<string, (note: ListedNote) => boolean>();
    for (const [action, plan] of plans) {
      matchers.set(action, plan.kind === "all" ? () => true : plan.kind === "none" ? () => false : planMatcher(plan, memberships));
    }
    return (action, note) => {
      const inside = matchers.get(action);
      return inside !== undefined && !inside(note);
    };
  }

  /**
   * What one caller's plans need from the database, read once for a page: their workspace
   * memberships (the plans' conditions on workspace roles are scans by workspace id), when any
   * plan is a condition, and none otherwise.
   */
  async membershipsFor(plans: Iterable<NoteCandidates>): Promise<readonly Membership[]> {
    for (const plan of plans) {
      if (plan.kind === "where") {
        return (await this.ds.query(`SELECT workspace_id, role FROM workspace_members WHERE user_id = $1`, [plan.userId])) as Membership[];
      }
    }
    return [];
  }

  insert(m: EntityManager, note: Pick<Note, "title" | "body" | "ownerId" | "workspaceId">): Promise<Note> {
    return m.save(Note, m.create(Note, note));
  }

  /** Applies a change only if the version still matches (when given); returns the new row or null. */
  async update(
    m: EntityManager,
    id: string,
    change: Partial<Pick<Note, "title" | "body">>,
    expectedVersion: number | null,
  ): Promise<Note | null> {
    const qb = m
      .createQueryBuilder()
      .update(Note)
      .set({ ...change })
      .where("id = :id", { id });
    if (expectedVersion !== null) qb.andWhere("version = :expectedVersion", { expectedVersion });
    const result = await qb.returning("*").execute();
    if (!result.affected) return null;
    return m.getRepository(Note).findOneByOrFail({ id });
  }

  /** Deletes the note; returns what its row held (the attributes its last readers are decided on), or null. */
  async delete(m: EntityManager, id: string): Promise<Pick<Note, "id" | "version" | "ownerId" | "workspaceId"> | null> {
    const { rows } = await execute<{ id: string; version: number; owner_id: string; workspace_id: string | null }>(
      m,
      `DELETE FROM notes WHERE id = $1 RETURNING id, version, owner_id, workspace_id`,
      [id],
    );
    const row = rows[0];
    return row ? { id: row.id, version: row.version, ownerId: row.owner_id, workspaceId: row.workspace_id } : null;
  }

  findById(m: EntityManager, id: string): Promise<Note | null> {
    return m.getRepository(Note).findOneBy({ id });
  }
}

/**
 * A list plan's condition on the rows of a page (alias `n`), or undefined when it restricts
 * nothing. A part that has no SQL form here (an attribute without a column, another relation)
 * counts as "any row", so the query can only be wider than the plan, never narrower.
 *
 * A plan that is a union ("own notes, or notes of my workspaces") becomes one ordered, limited
 * scan per part, merged: as a single `OR`, PostgreSQL could use no index for the order and would
 * walk the whole table by date to find a few rows. Each scan is bounded by the page's window
 * (`window(alias)`) and `:limit`.
 */
function planRestriction(
  plan: Extract<NoteCandidates, { kind: "where" }>,
  memberships: readonly Membership[],
): { sql: (window: (alias: string) => string) => string; params: Record<string, unknown> } | undefined {
  const sql = planSql(plan, memberships);
  const columns = (a: string) => ({ id: `${a}.id`, owner: `${a}.owner_id`, workspace: `${a}.workspace_id` });

  // The plan's parts: its top-level union, with the parts that name workspaces merged into one scan.
  const union = (c: PlanCondition): PlanCondition[] => (c.kind === "any" ? c.items.flatMap(union) : [c]);
  const flat = union(plan.condition);
  const related = flat.filter((c) => c.kind === "related");
  const parts: PlanCondition[] = [...flat.filter((c) => c.kind !== "related"), ...(related.length > 0 ? [{ kind: "any" as const, items: related }] : [])];
  const scans = parts.map((part, i) => ({ alias: `p${i}`, sql: sql.where(part, columns(`p${i}`)) }));
  // A part without an SQL form may hold for any row: no restriction at all.
  if (scans.some((scan) => scan.sql === undefined)) return undefined;
  const live = scans.filter((scan) => scan.sql !== FALSE);
  if (live.length === 0) return { sql: () => FALSE, params: sql.params };
  if (live.length === 1) {
    const where = sql.where(parts[scans.indexOf(live[0]!)]!, columns("n"))!;
    return { sql: () => where, params: sql.params };
  }
  return {
    sql: (window) => {
      const selects = live.map(({ alias: a, sql }) => {
        const bounds = window(a);
        return `(SELECT ${a}.id FROM notes ${a} WHERE ${sql}${bounds ? ` AND ${bounds}` : ""} ORDER BY ${a}.created_at DESC, ${a}.id DESC LIMIT :limit)`;
      });
      // ARRAY(…) is computed once, before the outer scan: the merged ids are then fetched by primary key.
      return `n.id = ANY(ARRAY(${selects.join(" UNION ALL ")}))`;
    },
    params: sql.params,
  };
}

/**
 * The columns of a note, read as a plain row without TypeORM's entity hydration: a list page
 * reads up to hundreds of rows, and the hydration's per-column transformation was a visible
 * share of a page's CPU.
 */
const LISTED_NOTE_COLUMNS = "n.id, n.title, n.owner_id, n.workspace_id, n.version, n.created_at, n.updated_at";
const NOTE_COLUMNS = `${LISTED_NOTE_COLUMNS}, n.body`;

interface NoteRow {
  id: string;
  title: string;
  body: string;
  owner_id: string;
  workspace_id: string | null;
  version: number;
  created_at: Date;
  updated_at: Date;
}

const listedNoteOf = (r: Omit<NoteRow, "body">): ListedNote => ({
  id: r.id,
  title: r.title,
  ownerId: r.owner_id,
  workspaceId: r.workspace_id,
  version: r.version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const noteOf = (r: NoteRow): Note => ({ ...listedNoteOf(r), body: r.body });

/** The columns a plan's conditions on notes are written against. */
export interface NoteColumns {
  id: string;
  owner: string;
  workspace: string;
}

/**
 * The note column an attribute of a plan names, read the same way by `planSql` and `planMatcher`;
 * undefined for an attribute without a column (own keys only: no prototype member is a column).
 */
function columnOf(attribute: string): keyof NoteColumns | undefined {
  if (attribute === "key") return "id";
  if (attribute === NoteAttribute.owner) return "owner";
  if (attribute === NoteAttribute.workspace) return "workspace";
  return undefined;
}

/** A listed note's value of each column. */
const readColumn: Record<keyof NoteColumns, (note: ListedNote) => string | null> = {
  id: (note) => note.id,
  owner: (note) => note.ownerId,
  workspace: (note) => note.workspaceId,
};

/**
 * A list plan as SQL over note columns, for the notes table or the change log. `where` gives a
 * condition's SQL, `FALSE` when no row can match, or undefined when it has no SQL form here
 * (then any row may match: a caller can only widen the query with it, never narrow it). The
 * named parameters it refers to are in `params`.
 */
export function planSql(plan: Extract<NoteCandidates, { kind: "where" }>, memberships: readonly Membership[]) {
  let n = 0;
  const params: Record<string, unknown> = {};
  const param = (value: unknown) => {
    const name = `plan${n++}`;
    params[name] = value;
    return name;
  };
  /** `column IN (values)`, keeping only values that can equal a uuid column. */
  const uuidIn = (column: string, values: Iterable<unknown>): string => {
    const ids = uuids(values);
    return ids.length === 0 ? FALSE : `${column} IN (:...${param(ids)})`;
  };
  const { heldOn, workspaces } = planSubjects(plan, memberships);

  /** Notes that satisfy `c`, as SQL over `cols`, or undefined when it has no SQL form. */
  const where = (c: PlanCondition, cols: NoteColumns): string | undefined => {
    switch (c.kind) {
      case "attribute": {
        const column = columnOf(c.attribute);
        return column === undefined ? undefined : uuidIn(cols[column], c.values);
      }
      case "role":
        return uuidIn(cols.id, heldOn(Resource.notes, c.roles));
      case "related": {
        if (c.relation !== Relation.parent || c.subjectType !== Resource.workspaces) return undefined;
        const ids = workspaces(c.subject);
        return ids === undefined ? undefined : uuidIn(cols.workspace, ids);
      }
      case "any": {
        const parts = c.items.map((i) => where(i, cols));
        if (parts.some((p) => p === undefined)) return undefined;
        const live = parts.filter((p) => p !== FALSE);
        return live.length === 0 ? FALSE : `(${live.join(" OR ")})`;
      }
      case "all": {
        const parts = c.items.map((i) => where(i, cols)).filter((p) => p !== undefined);
        if (parts.includes(FALSE)) return FALSE;
        return parts.length === 0 ? undefined : `(${parts.join(" AND ")})`;
      }
    }
  };
  return { params, where };
}

/**
 * A plan as a test on one note, with the same reading as `planSql`: true when the note may
 * satisfy it (a condition that has no form here counts as satisfied), false when it cannot.
 */
export function planMatcher(plan: Extract<NoteCandidates, { kind: "where" }>, memberships: readonly Membership[]): (note: ListedNote) => boolean {
  const { heldOn, workspaces } = planSubjects(plan, memberships);
  const always = (): boolean => true;
  // Compiled once for all the notes tested: each condition becomes a test, the ids it names
  // worked out here rather than looked up for every note.
  const compile = (c: PlanCondition): ((note: ListedNote) => boolean) => {
    switch (c.kind) {
      case "attribute": {
        const column = columnOf(c.attribute);
        if (column === undefined) return always;
        const read = readColumn[column];
        const ids = new Set(uuids(c.values));
        return (note) => {
          const value = read(note);
          return value !== null && ids.has(value);
        };
      }
      case "role": {
        const ids = new Set(uuids(heldOn(Resource.notes, c.roles)));
        return (note) => ids.has(note.id);
      }
      case "related": {
        if (c.relation !== Relation.parent || c.subjectType !== Resource.workspaces) return always;
        const named = workspaces(c.subject);
        if (named === undefined) return always;
        const ids = new Set(uuids(named));
        return (note) => note.workspaceId !== null && ids.has(note.workspaceId);
      }
      case "any": {
        const tests = c.items.map(compile);
        return (note) => {
          for (const test of tests) if (test(note)) return true;
          return false;
        };
      }
      case "all": {
        const tests = c.items.map(compile);
        return (note) => {
          for (const test of tests) if (!test(note)) return false;
          return true;
        };
      }
    }
  };
  return compile(plan.condition);
}

/** The values that can equal a uuid column (ids are stored in lower case). */
const uuids = (values: Iterable<unknown>): string[] => [...new Set([...values].filter((v): v is string => typeof v === "string" && isUuid(v)).map((id) => id.toLowerCase()))];

/** What a plan's conditions on roles refer to: the caller's instance roles and workspace memberships. */
function planSubjects(plan: Extract<NoteCandidates, { kind: "where" }>, memberships: readonly Membership[]) {
  const heldOn = (type: string, roles: readonly string[]): string[] =>
    [...plan.instanceRoles].filter(([instance, held]) => instance.startsWith(`${type}:`) && held.some((r) => roles.includes(r))).map(([instance]) => instance.slice(type.length + 1));

  /** The workspaces that satisfy `c`, or undefined when that cannot be told here (any workspace may). */
  const workspaces = (c: PlanCondition): Set<string> | undefined => {
    switch (c.kind) {
      case "role": {
        const dbRoles = new Set(c.roles.map(workspaceRoleFromKey));
        // Memberships are the database's (the source of the facts); roles given by hand in Permit come with the assignments.
        return new Set([...memberships.filter((m) => dbRoles.has(m.role)).map((m) => m.workspace_id), ...heldOn(Resource.workspaces, c.roles)]);
      }
      case "attribute":
        return c.attribute === "key" ? new Set(c.values.filter((v): v is string => typeof v === "string")) : undefined;
      case "any": {
        const sets = c.items.map(workspaces);
        return sets.some((x) => x === undefined) ? undefined : new Set(sets.flatMap((x) => [...x!]));
      }
      case "all": {
        const sets = c.items.map(workspaces).filter((x) => x !== undefined);
        return sets.length === 0 ? undefined : new Set([...sets[0]!].filter((id) => sets.every((x) => x.has(id))));
      }
      case "related":
        return undefined;
    }
  };

  return { heldOn, workspaces };
}

/** A part that matches no row (kept apart so that no scan is spent on it). */
export const FALSE = "FALSE";
