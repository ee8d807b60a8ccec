/**
 * The change feed a caller reads (`noteChangesHead`, `noteChanges`, and the replay of
 * `noteEvents(after:)`): the log's rows after the caller's cursor, each shown only if the caller
 * may see it:
 *
 * - CREATED and UPDATED when the caller may `get` the note as it is stored when the page is read
 *   (`note` is then that row; a note deleted meanwhile is skipped, its DELETED follows);
 * - DELETED when the writer decided the caller could read it just before the deletion, or the
 *   PDP says so now from the row's last attributes (what needs no relationship: a tenant role,
 *   authorship);
 * - WORKSPACE_GRANTED and WORKSPACE_REVOKED to the one user they concern.
 *
 * Rows the caller cannot see are mostly filtered in SQL (the list plan's candidates); what is
 * left is decided in ONE bulk PDP call per page, never a call per change. A change whose facts
 * the PDP has not acknowledged yet (a new note's workspace tuple) ends the page before it: it
 * would be decided without them and skipped for good.
 */
import { badInput, resyncRequired } from "../common/errors";
import type { Note } from "../notes/note.entity";
import type { NoteCandidates } from "../notes/note.repository";
import { comparePositions, isNoteKind, NoteChangeKind, type ChangePosition, type LoggedChange } from "./change-log";
import type { ChangeCursorCodec } from "./change-cursor";
import type { ChangeLogRepository } from "./change-log.repository";

export type NoteRow = Pick<Note, "id" | "ownerId" | "workspaceId">;

/** What a caller's pages draw from, and how the rest is decided (authz/changes.ts). */
export interface ChangeAccess {
  userId: string;
  candidates: NoteCandidates;
  /** `get` on each note, in one PDP call (AUTHZ_UNAVAILABLE when it cannot decide). */
  readable(notes: readonly NoteRow[]): Promise<boolean[]>;
}

/** A change as a caller sees it. */
export interface VisibleChange {
  position: ChangePosition;
  kind: NoteChangeKind;
  noteId: string | null;
  workspaceId: string | null;
  version: number | null;
  /** CREATED and UPDATED: the note as stored when read; null otherwise. */
  note: Note | null;
  at: Date;
}

export interface FeedRead {
  changes: VisibleChange[];
  /** Where the next read starts. */
  position: ChangePosition;
  hasMore: boolean;
}

export interface FeedPage {
  changes: (VisibleChange & { cursor: string })[];
  cursor: string;
  hasMore: boolean;
}

export const CHANGES_PAGE_DEFAULT = 100;
export const CHANGES_PAGE_MAX = 500;

export interface ChangeFeedDeps {
  log: ChangeLogRepository;
  loadNotes(ids: readonly string[]): Promise<Note[]>;
  cursors: ChangeCursorCodec;
  /** Waits (bounded) until the PDP acknowledged these facts; false when it has not. */
  awaitFacts(factIds: string[]): Promise<boolean>;
}

export class ChangeFeed {
  constructor(private readonly deps: ChangeFeedDeps) {}

  async head(viewer: string): Promise<string> {
    return this.deps.cursors.encode(await this.deps.log.head(), viewer);
  }

  /** The position a cursor stands for (BAD_USER_INPUT when it is not the caller's). */
  positionOf(cursor: string, viewer: string): ChangePosition {
    return this.deps.cursors.decode(cursor, viewer);
  }

  /** The position itself, or RESYNC_REQUIRED when retention removed changes after it. */
  async retained(position: ChangePosition): Promise<ChangePosition> {
    if (comparePositions(position, await this.deps.log.trimmedUpTo()) < 0) throw resyncRequired();
    return position;
  }

  cursorOf(position: ChangePosition, viewer: string): string {
    return this.deps.cursors.encode(position, viewer);
  }

  async page(args: { after: string; first?: number | null; workspaceId: string | null }, access: ChangeAccess): Promise<FeedPage> {
    const first = args.first ?? CHANGES_PAGE_DEFAULT;
    if (!Number.isInteger(first) || first < 1 || first > CHANGES_PAGE_MAX) throw badInput(`first must be between 1 and ${CHANGES_PAGE_MAX}.`, "first");
    const after = this.positionOf(args.after, access.userId);
    const read = await this.read(after, first, args.workspaceId, access);
    const viewer = access.userId;
    return {
      changes: read.changes.map((c) => ({ ...c, cursor: this.cursorOf(c.position, viewer) })),
      // Unchanged when nothing moved: polling an idle feed hands back the same cursor.
      cursor: comparePositions(read.position, after) === 0 ? args.after : this.cursorOf(read.position, viewer),
      hasMore: read.hasMore,
    };
  }

  /** Up to `first` changes after `after` that the caller may see (RESYNC_REQUIRED when retention removed some of them). */
  async read(after: ChangePosition, first: number, workspaceId: string | null, access: ChangeAccess): Promise<FeedRead> {
    const { changes: rows, end } = await this.deps.log.read(after, first + 1, { workspaceId, visibleTo: { userId: access.userId, candidates: access.candidates } });
    // Checked after the read: a trim that ran before it is seen here, one that runs after it removed nothing this read needed.
    await this.retained(after);
    let page = rows.slice(0, first);
    let hasMore = rows.length > first;
    const factIds = page.flatMap((c) => c.factIds);
    if (factIds.length > 0 && !(await this.deps.awaitFacts(factIds).catch(() => false))) {
      const waiting = page.findIndex((c) => c.factIds.length > 0);
      page = page.slice(0, waiting);
      hasMore = true;
    }
    const changes = await this.visible(page, access);
    const last = page.at(-1)?.position;
    // A read not cut short has seen every row below the horizon (shown or not); one cut short resumes after its last row.
    const position = hasMore ? (last ?? after) : maxPosition(after, last ?? after, end ?? after);
    return { changes, position, hasMore };
  }

  private async visible(page: readonly LoggedChange[], access: ChangeAccess): Promise<VisibleChange[]> {
    const loadIds = [...new Set(page.filter((c) => c.kind === NoteChangeKind.CREATED || c.kind === NoteChangeKind.UPDATED).map((c) => c.noteId!))];
    const stored = new Map((loadIds.length > 0 ? await this.deps.loadNotes(loadIds) : []).map((n) => [n.id, n]));
    const asked: NoteRow[] = [];
    const askedAt = new Map<LoggedChange, number>();
    for (const change of page) {
      if (!isNoteKind(change.kind)) continue;
      if (change.kind === NoteChangeKind.DELETED) {
        if (change.audience?.includes(access.userId)) continue;
        askedAt.set(change, asked.push({ id: change.noteId!, ownerId: change.ownerId!, workspaceId: change.workspaceId }) - 1);
      } else {
        const note = stored.get(change.noteId!);
        if (note) askedAt.set(change, asked.push(note) - 1);
      }
    }
    const allowed = asked.length > 0 ? await access.readable(asked) : [];
    const visible: VisibleChange[] = [];
    for (const change of page) {
      const at = askedAt.get(change);
      const shown = isNoteKind(change.kind) ? (at === undefined ? change.kind === NoteChangeKind.DELETED : allowed[at]!) : true;
      if (!shown) continue;
      const note = change.kind === NoteChangeKind.CREATED || change.kind === NoteChangeKind.UPDATED ? (stored.get(change.noteId!) ?? null) : null;
      visible.push({ position: change.position, kind: change.kind, noteId: change.noteId, workspaceId: change.workspaceId, version: change.version, note, at: change.at });
    }
    return visible;
  }
}

function maxPosition(...positions: ChangePosition[]): ChangePosition {
  return positions.reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
}
