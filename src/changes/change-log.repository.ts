/**
 * Reading the change log (change-log.ts) in its one safe order: rows after a position, below
 * the horizon (the oldest transaction still in flight), by (tx, id). Every read also returns
 * the newest row below that horizon, whatever the filter: a reader whose filtered read was not
 * cut short may move its position up to it, past rows it may not see, since no row can appear
 * below the horizon later. (Not to the horizon itself: a position then moves only when the log
 * grows, so an idle poll hands back the same cursor.)
 */
import type { DataSource } from "typeorm";
import type { NoteCandidates } from "../notes/note.repository";
import { FALSE, planSql, type Membership } from "../notes/note.repository";
import type { ChangePosition, LoggedChange, NoteChangeKind } from "./change-log";

export interface ChangeReadFilter {
  workspaceId?: string | null;
  /**
   * Only rows that may be visible to this user: the workspace kinds and deletions naming them,
   * and note changes the list plan's candidates may include (decided exactly afterwards).
   */
  visibleTo?: { userId: string; candidates: NoteCandidates };
}

export interface ChangeRead {
  changes: LoggedChange[];
  /** The newest row below the horizon (null: none after the position); nothing can appear before it later. */
  end: ChangePosition | null;
}

interface Row {
  end_tx: string | null;
  end_id: string | null;
  id: string | null;
  tx: string | null;
  kind: NoteChangeKind;
  note_id: string | null;
  workspace_id: string | null;
  owner_id: string | null;
  version: number | null;
  audience: string[] | null;
  fact_ids: string[] | null;
  at: Date;
}

export class ChangeLogRepository {
  constructor(private readonly ds: DataSource) {}

  /** The position before any change not yet readable: where a reader starting now begins. */
  async head(): Promise<ChangePosition> {
    const [row] = (await this.ds.query(`SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon`)) as { horizon: string }[];
    return { tx: BigInt(row!.horizon), id: 0n };
  }

  /** The last position retention removed; a position before it has lost changes. */
  async trimmedUpTo(): Promise<ChangePosition> {
    const [row] = (await this.ds.query(`SELECT tx::text AS tx, id::text AS id FROM note_changes_trimmed`)) as { tx: string; id: string }[];
    return row ? { tx: BigInt(row.tx), id: BigInt(row.id) } : { tx: 0n, id: 0n };
  }

  async read(after: ChangePosition, limit: number, filter: ChangeReadFilter = {}): Promise<ChangeRead> {
    const conditions = [`(c.tx, c.id) > (CAST(:tx AS xid8), CAST(:id AS bigint))`, `c.tx < h.horizon`];
    const params: Record<string, unknown> = { tx: after.tx.toString(), id: after.id.toString(), limit };
    if (filter.workspaceId) {
      conditions.push(`c.workspace_id = :workspaceId`);
      params.workspaceId = filter.workspaceId;
    }
    if (filter.visibleTo) {
      const notes = await this.candidateSql(filter.visibleTo.candidates, filter.visibleTo.userId, params);
      params.viewer = filter.visibleTo.userId;
      conditions.push(`(
        (c.kind IN ('WORKSPACE_GRANTED', 'WORKSPACE_REVOKED') AND c.audience @> ARRAY[CAST(:viewer AS uuid)])
        OR (c.kind = 'DELETED' AND (c.audience @> ARRAY[CAST(:viewer AS uuid)] OR ${notes}))
        OR (c.kind IN ('CREATED', 'UPDATED') AND ${notes}))`);
    }
    const [sql, values] = this.ds.driver.escapeQueryWithParameters(
      `WITH h AS (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS horizon),
       e AS (
         SELECT c.tx, c.id FROM note_changes c, h
         WHERE c.tx < h.horizon AND (c.tx, c.id) > (CAST(:tx AS xid8), CAST(:id AS bigint))
         ORDER BY c.tx DESC, c.id DESC LIMIT 1
       )
       SELECT (SELECT tx::text FROM e) AS end_tx, (SELECT id::text FROM e) AS end_id, r.* FROM h LEFT JOIN LATERAL (
         SELECT c.id::text AS id, c.tx::text AS tx, c.kind, c.note_id, c.workspace_id, c.owner_id, c.version, c.audience, c.fact_ids::text[] AS fact_ids, c.at
         FROM note_changes c WHERE ${conditions.join(" AND ")}
         ORDER BY c.tx, c.id LIMIT :limit
       ) r ON true`,
      params,
    );
    const rows = (await this.ds.query(sql, values)) as Row[];
    const first = rows[0]!;
    const end = first.end_tx === null ? null : { tx: BigInt(first.end_tx), id: BigInt(first.end_id!) };
    const changes = rows
      .filter((r) => r.id !== null)
      .map(
        (r): LoggedChange => ({
          position: { tx: BigInt(r.tx!), id: BigInt(r.id!) },
          kind: r.kind,
          noteId: r.note_id,
          workspaceId: r.workspace_id,
          ownerId: r.owner_id,
          version: r.version,
          audience: r.audience,
          factIds: r.fact_ids ?? [],
          at: r.at,
        }),
      );
    return { changes, end };
  }

  /** The plan's candidates as SQL over the log's note columns (TRUE when it has no SQL form: decided afterwards). */
  private async candidateSql(candidates: NoteCandidates, userId: string, params: Record<string, unknown>): Promise<string> {
    if (candidates.kind === "all") return "TRUE";
    if (candidates.kind === "none") return FALSE;
    const memberships = (await this.ds.query(`SELECT workspace_id, role FROM workspace_members WHERE user_id = $1`, [userId])) as Membership[];
    const plan = planSql(candidates, memberships);
    const where = plan.where(candidates.condition, { id: "c.note_id", owner: "c.owner_id", workspace: "c.workspace_id" });
    Object.assign(params, plan.params);
    return where ?? "TRUE";
  }

  /**
   * Removes up to `limit` of the oldest changes logged before `before`, and records the last
   * position removed, in one transaction. One replica at a time (an advisory lock); returns
   * how many rows went.
   */
  async trim(before: Date, limit: number): Promise<number> {
    return this.ds.transaction(async (m) => {
      const [locked] = (await m.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [TRIM_LOCK])) as { locked: boolean }[];
      if (!locked?.locked) return 0;
      const [last] = (await m.query(
        `WITH doomed AS (
           SELECT id FROM note_changes WHERE at < $1 AND tx < pg_snapshot_xmin(pg_current_snapshot()) ORDER BY tx, id LIMIT $2
         ), gone AS (
           DELETE FROM note_changes c USING doomed d WHERE c.id = d.id RETURNING c.tx, c.id
         )
         SELECT (SELECT count(*)::int FROM gone) AS n, g.tx::text AS tx, g.id::text AS id
         FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT tx, id FROM gone ORDER BY tx DESC, id DESC LIMIT 1) g ON true`,
        [before, limit],
      )) as { n: number; tx: string | null; id: string | null }[];
      if (!last || last.n === 0) return 0;
      // The highest position removed: any cursor before it may have lost a change.
      await m.query(
        `UPDATE note_changes_trimmed SET tx = CAST($1 AS xid8), id = CAST($2 AS bigint) WHERE (tx, id) < (CAST($1 AS xid8), CAST($2 AS bigint))`,
        [last.tx, last.id],
      );
      return last.n;
    });
  }
}

/** One trimming replica at a time. */
const TRIM_LOCK = 7_311_043;
