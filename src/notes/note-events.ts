/**
 * Announcing committed note changes to every replica: a PostgreSQL `NOTIFY` sent inside the
 * write's own transaction, so PostgreSQL delivers it only if the transaction commits (a
 * rolled-back write announces nothing) and in commit order. The payload is small (ids, kind,
 * version, time; NOTIFY allows 8000 bytes): each replica loads the rows it needs itself.
 *
 * A DELETED change also carries the row's last owner and workspace, read from the deleted row
 * in that transaction: they are the attributes its authorization check needs once the row is gone.
 * When the writer decided who could read the note just before the deletion (`readers`, see
 * live/deletion-readers.ts), the change carries them: the deletion's own fact may reach the PDP
 * before a replica gets to decide, and the PDP then no longer knows the note's workspace.
 */
import type { EntityManager } from "typeorm";
import { isUuid } from "../common/validation";
import type { Note } from "./note.entity";

export const NOTE_CHANGES_CHANNEL = "note_changes";

export const NoteEventKind = {
  CREATED: "CREATED",
  UPDATED: "UPDATED",
  DELETED: "DELETED",
} as const;
export type NoteEventKind = (typeof NoteEventKind)[keyof typeof NoteEventKind];

export interface NoteChange {
  kind: NoteEventKind;
  noteId: string;
  /** The note's version after the change (for DELETED, its last version). */
  version: number;
  /** The row's owner and workspace after the change (for DELETED, before it). */
  ownerId: string;
  workspaceId: string | null;
  /** When the change was made (just before its commit). */
  at: Date;
  /**
   * The facts (outbox ids) the PDP needs before this change can be decided, e.g. a new note's
   * tuple to its workspace: readers through a workspace role are decided once they are delivered.
   */
  factIds: string[];
  /**
   * DELETED only: the subscribed users who could read the note just before its deletion, as
   * the writer decided them; null when the PDP could not decide (nobody gets the event
   * unchecked); undefined when the writer did not decide (the replica decides).
   */
  readers?: string[] | null;
}

/**
 * Who among the subscribed users could read each of these notes, about to be deleted: decided
 * before the deletion (live/deletion-readers.ts), by note id; null when the PDP could not decide.
 */
export type DeletionReaders = (notes: readonly Pick<Note, "id" | "ownerId" | "workspaceId">[]) => Promise<Map<string, string[]> | null>;

/** Readers per notification: 36-character ids stay well inside NOTIFY's 8000 bytes. */
const READERS_PER_NOTIFICATION = 150;

type ChangedRow = Pick<Note, "id" | "version" | "ownerId" | "workspaceId">;

/**
 * Sends the change on the transaction of `m`; PostgreSQL delivers it at commit, or never.
 * `factIds`: the facts of this transaction the decision must wait for (none for a delete, whose
 * readers are those of the note as it was: it is decided before its facts reach the PDP, if it can).
 */
export async function announceNoteChange(m: EntityManager, kind: NoteEventKind, row: ChangedRow, factIds: readonly string[] = []): Promise<void> {
  await notify(m, { k: kind, id: row.id, v: row.version, o: row.ownerId, w: row.workspaceId, at: Date.now(), f: factIds });
}

/**
 * A deletion, with the readers the writer decided (null: the PDP could not decide; undefined:
 * the writer did not decide, each replica does). Many readers are sent in several notifications
 * of the same change, each naming some of them: a subscriber's user is in exactly one, so each
 * subscriber gets the event once.
 */
export async function announceNoteDeletion(m: EntityManager, row: ChangedRow, readers: string[] | null | undefined): Promise<void> {
  if (readers === undefined) return announceNoteChange(m, NoteEventKind.DELETED, row);
  const change = { k: NoteEventKind.DELETED, id: row.id, v: row.version, o: row.ownerId, w: row.workspaceId, at: Date.now(), f: [] };
  if (readers === null) return notify(m, { ...change, r: null });
  for (let i = 0; i === 0 || i < readers.length; i += READERS_PER_NOTIFICATION) {
    await notify(m, { ...change, r: readers.slice(i, i + READERS_PER_NOTIFICATION) });
  }
}

async function notify(m: EntityManager, payload: Record<string, unknown>): Promise<void> {
  await m.query(`SELECT pg_notify($1, $2)`, [NOTE_CHANGES_CHANNEL, JSON.stringify(payload)]);
}

/** The change a notification announces, or null when the payload is not one of ours. */
export function parseNoteChange(payload: string | undefined): NoteChange | null {
  if (!payload) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(payload);
  } catch {
    return null;
  }
  if (typeof raw !== "object" || raw === null) return null;
  const { k, id, v, o, w, at, f, r } = raw as Record<string, unknown>;
  if (typeof k !== "string" || !(k in NoteEventKind)) return null;
  if (typeof id !== "string" || !isUuid(id) || typeof o !== "string" || !isUuid(o)) return null;
  if (!(w === null || (typeof w === "string" && isUuid(w)))) return null;
  if (!Number.isInteger(v) || typeof at !== "number" || !Number.isFinite(at)) return null;
  const factIds = f === undefined ? [] : f;
  if (!Array.isArray(factIds) || !factIds.every((x) => typeof x === "string" && /^\d{1,19}$/.test(x))) return null;
  const readersValid = r === null || (Array.isArray(r) && r.every((x) => typeof x === "string" && isUuid(x)));
  if (r !== undefined && (k !== NoteEventKind.DELETED || !readersValid)) return null;
  const change: NoteChange = { kind: k as NoteEventKind, noteId: id, version: v as number, ownerId: o, workspaceId: w, at: new Date(at), factIds: factIds as string[] };
  if (r !== undefined) change.readers = r as string[] | null;
  return change;
}
