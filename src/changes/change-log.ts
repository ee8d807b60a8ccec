/**
 * The change feed's log: every change to a note, and to who may read a workspace, is written to
 * `note_changes` in the transaction that makes it, so it exists exactly when the change does.
 *
 * Order. A sequence number taken at insert is not commit order: a transaction may take 7,
 * another 8 and commit first, and a reader that saw 8 would skip 7. Each row therefore carries
 * its transaction's id (`xid8`), and readers take only rows whose transaction is older than the
 * oldest one still in flight (`pg_snapshot_xmin`): every such transaction has ended, so no row
 * can appear later below that horizon. Rows are read in (tx, id) order, a total order that no
 * later commit can insert into behind a reader's position.
 *
 * Wake-up. The write also sends a NOTIFY whose payload is only the writer's transaction id:
 * replicas read the log from their own position when woken, so a lost notification delays a
 * change, never loses it.
 *
 * Audience. CREATED and UPDATED are decided for each reader when read. DELETED carries the
 * readers the writer decided before deleting (the PDP forgets the note's workspace with the
 * deletion); WORKSPACE_GRANTED and WORKSPACE_REVOKED carry the one user they concern.
 */
import type { EntityManager } from "typeorm";
import type { Note } from "../notes/note.entity";

export const NOTE_CHANGES_CHANNEL = "note_changes";

export const NoteChangeKind = {
  CREATED: "CREATED",
  UPDATED: "UPDATED",
  DELETED: "DELETED",
  WORKSPACE_GRANTED: "WORKSPACE_GRANTED",
  WORKSPACE_REVOKED: "WORKSPACE_REVOKED",
} as const;
export type NoteChangeKind = (typeof NoteChangeKind)[keyof typeof NoteChangeKind];

export const isNoteKind = (kind: NoteChangeKind): kind is "CREATED" | "UPDATED" | "DELETED" =>
  kind === NoteChangeKind.CREATED || kind === NoteChangeKind.UPDATED || kind === NoteChangeKind.DELETED;

/** A place in the log: everything at or before it has been read. `tx` is an xid8 in decimal. */
export interface ChangePosition {
  tx: bigint;
  id: bigint;
}

export const comparePositions = (a: ChangePosition, b: ChangePosition): number =>
  a.tx < b.tx ? -1 : a.tx > b.tx ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0;

/** One row of the log. */
export interface LoggedChange {
  position: ChangePosition;
  kind: NoteChangeKind;
  noteId: string | null;
  workspaceId: string | null;
  ownerId: string | null;
  version: number | null;
  /** DELETED: who could read the note just before; workspace kinds: the user granted or revoked. Null for CREATED and UPDATED. */
  audience: string[] | null;
  /** Outbox facts the PDP needs before the change can be decided (a new note's workspace tuple). */
  factIds: string[];
  at: Date;
}

type NoteRow = Pick<Note, "id" | "version" | "ownerId" | "workspaceId">;

/** Logs a created or updated note, and wakes the readers at commit. */
export async function logNoteChange(m: EntityManager, kind: "CREATED" | "UPDATED", note: NoteRow, factIds: readonly string[] = []): Promise<void> {
  await logAndWake(m, `INSERT INTO note_changes (kind, note_id, workspace_id, owner_id, version, fact_ids) VALUES ($1, $2, $3, $4, $5, $6::bigint[])`, [
    kind,
    note.id,
    note.workspaceId,
    note.ownerId,
    note.version,
    factIds,
  ]);
}

/**
 * Who could read each of these notes just before their deletion, by note id, decided by the
 * writer before it deletes (authz/deletion-audience.ts).
 */
export type DeletionAudience = (notes: readonly Pick<Note, "id" | "ownerId" | "workspaceId">[]) => Promise<Map<string, string[]>>;

/** Logs deleted notes with the readers the writer decided for each. */
export async function logNoteDeletions(m: EntityManager, notes: readonly NoteRow[], readers: (noteId: string) => string[]): Promise<void> {
  if (notes.length === 0) return;
  await logAndWake(
    m,
    `INSERT INTO note_changes (kind, note_id, workspace_id, owner_id, version, audience)
     SELECT 'DELETED', d.note_id, d.workspace_id, d.owner_id, d.version, string_to_array(d.audience, ',')::uuid[]
     FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::int[], $5::text[]) WITH ORDINALITY AS d(note_id, workspace_id, owner_id, version, audience, n)
     ORDER BY d.n`,
    [
      notes.map((n) => n.id),
      notes.map((n) => n.workspaceId),
      notes.map((n) => n.ownerId),
      notes.map((n) => n.version),
      notes.map((n) => readers(n.id).join(",")),
    ],
  );
}

/**
 * Logs that a user gained (or changed) or lost their role on a workspace. `factIds`: the facts
 * that tell the PDP, which the feed waits for before showing the change, so that a client
 * refetching on it is decided with the new role.
 */
export async function logWorkspaceAccess(
  m: EntityManager,
  kind: "WORKSPACE_GRANTED" | "WORKSPACE_REVOKED",
  entries: readonly { workspaceId: string; userId: string; factIds: readonly string[] }[],
): Promise<void> {
  if (entries.length === 0) return;
  await logAndWake(
    m,
    `INSERT INTO note_changes (kind, workspace_id, audience, fact_ids)
     SELECT $1, e.workspace_id, ARRAY[e.user_id], string_to_array(e.fact_ids, ',')::bigint[]
     FROM unnest($2::uuid[], $3::uuid[], $4::text[]) WITH ORDINALITY AS e(workspace_id, user_id, fact_ids, n) ORDER BY e.n`,
    [kind, entries.map((e) => e.workspaceId), entries.map((e) => e.userId), entries.map((e) => e.factIds.join(","))],
  );
}

/**
 * Runs the log's INSERT and the wake-up in one statement (one round trip inside the writer's
 * transaction). The notification is delivered at commit, or never, and carries only the
 * transaction id, so replicas know what to wait for.
 */
async function logAndWake(m: EntityManager, insert: string, params: unknown[]): Promise<void> {
  await m.query(`WITH logged AS (${insert}) SELECT pg_notify($${params.length + 1}, pg_current_xact_id()::text)`, [...params, NOTE_CHANGES_CHANNEL]);
}
