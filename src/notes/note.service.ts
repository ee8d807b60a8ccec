import type { DataSource } from "typeorm";
import { badInput, conflict, notFound } from "../common/errors";
import type { CursorCodec, CursorScope, Position } from "../common/cursor";
import { recordFacts, type Written } from "../outbox/facts";
import type { FactDelivery } from "../outbox/delivery";
import { limitText, NOTE_BODY_MAX, NOTE_TITLE_MAX, requirePageSize, requireTrimmedText } from "../common/validation";
import type { Note } from "./note.entity";
import { logNoteChange, logNoteDeletions, type DeletionAudience } from "../changes/change-log";
import type { ListedNote, NoteCandidates, NoteRepository } from "./note.repository";

export interface NotePage {
  edges: { cursor: string; node: ListedNote }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/**
 * Decides, for a batch of candidate notes, which ones the caller may read (one PDP round trip).
 * At most `wanted` of them can still make it onto the page. `outside(action, note)` is true
 * when the note lies outside that action's plan (`ListAccess.otherActions`).
 */
export type ReadableFilter = (notes: ListedNote[], wanted: number, outside: (action: string, note: ListedNote) => boolean) => Promise<boolean[]>;

/** What a page may draw from, and how each candidate is decided. */
export interface ListAccess {
  candidates: NoteCandidates;
  readable: ReadableFilter;
  /** The plans of other actions asked of the page's notes (its `viewerCan`), by action. */
  otherActions?: ReadonlyMap<string, NoteCandidates>;
}

/** An edge of a page, its cursor sealed only when a client selects it: most pages ask for `pageInfo.endCursor` alone. */
class NoteEdge {
  constructor(
    readonly node: ListedNote,
    private readonly cursors: CursorCodec,
    private readonly scope: CursorScope,
  ) {}

  get cursor(): string {
    return this.cursors.encode(this.node, this.scope);
  }
}

/** The largest batch of candidates examined at once while filling a page. */
const SCAN_BATCH_MAX = 500;

export class NoteService {
  constructor(
    private readonly ds: DataSource,
    private readonly notes: NoteRepository,
    private readonly facts: FactDelivery,
    private readonly cursors: CursorCodec,
    /** Who could read a note about to be deleted, decided before it goes (authz/deletion-audience.ts). */
    private readonly deletionAudience: DeletionAudience,
  ) {}

  findByIds(ids: readonly string[]): Promise<Note[]> {
    return this.notes.findByIds(ids);
  }

  async create(ownerId: string, input: { title: string; body?: string | null; workspaceId?: string | null }): Promise<Written<Note>> {
    const title = requireTrimmedText(input.title, "title", NOTE_TITLE_MAX);
    const body = limitText(input.body ?? "", "body", NOTE_BODY_MAX);
    const workspaceId = input.workspaceId ?? null;
    const { note, factIds } = await this.ds.transaction(async (m) => {
      const note = await this.notes.insert(m, { title, body, ownerId, workspaceId });
      const factIds = await recordFacts(m, [{ kind: "note.created", noteId: note.id, ownerId, workspaceId }]);
      await logNoteChange(m, "CREATED", note, factIds);
      return { note, factIds };
    });
    return { value: note, factsPending: !(await this.facts.deliver(factIds)) };
  }

  async update(id: string, input: { title?: string | null; body?: string | null; expectedVersion?: number | null }): Promise<Note> {
    const change: { title?: string; body?: string } = {};
    if (input.title !== undefined && input.title !== null) change.title = requireTrimmedText(input.title, "title", NOTE_TITLE_MAX);
    if (input.body !== undefined && input.body !== null) change.body = limitText(input.body, "body", NOTE_BODY_MAX);
    if (change.title === undefined && change.body === undefined) throw badInput("Give a title or a body to change.", "input");
    const expected = input.expectedVersion ?? null;
    return this.ds.transaction(async (m) => {
      const updated = await this.notes.update(m, id, change, expected);
      if (updated) {
        await logNoteChange(m, "UPDATED", updated);
        return updated;
      }
      const current = await this.notes.findById(m, id);
      if (!current) throw notFound("Note", id);
      throw conflict(`The note changed meanwhile: it is at version ${current.version}, not ${expected}.`, {
        currentVersion: current.version,
      });
    });
  }

  async delete(id: string): Promise<Written<string>> {
    // The audience is decided before the deletion: its fact may reach the PDP before anyone
    // reads the change, and then the PDP no longer knows the note's workspace. Owner and
    // workspace never change, so the row read here decides like the one deleted.
    const before = (await this.notes.findByIds([id]))[0];
    const audience = before ? await this.deletionAudience([before]) : new Map<string, string[]>();
    const factIds = await this.ds.transaction(async (m) => {
      const deleted = await this.notes.delete(m, id);
      if (!deleted) throw notFound("Note", id);
      await logNoteDeletions(m, [deleted], (noteId) => audience.get(noteId) ?? []);
      return recordFacts(m, [{ kind: "note.deleted", noteId: id }]);
    });
    return { value: id, factsPending: !(await this.facts.deliver(factIds)) };
  }

  /**
   * A page of readable notes, newest first, without assuming anything about the policy:
   * candidates are scanned in cursor order and checked in batches until the page is full and
   * one more readable note has been found (or none is left), so `hasNextPage` is exact. The
   * end cursor is the last row examined, so a later page neither skips a readable note nor
   * repeats one, and rows already found unreadable are not examined again; it is encrypted,
   * so pointing past unreadable rows reveals nothing about them. `withBodies`: whether the
   * page's notes carry their bodies (only when the query selects them).
   */
  async page(
    args: { first: number; after?: string | null; workspaceId: string | null; viewer: string; withBodies: boolean },
    access: ListAccess,
  ): Promise<NotePage> {
    const first = requirePageSize(args.first);
    const scope = { viewer: args.viewer, list: `notes:${args.workspaceId ?? ""}` };
    let position: Position | null = args.after === undefined || args.after === null ? null : this.cursors.decode(args.after, scope);
    const edges: NotePage["edges"] = [];
    const finish = (hasNextPage: boolean): NotePage => {
      const end = position;
      const cursors = this.cursors;
      return {
        edges,
        // Sealed only when a client selects it, like the edges' cursors.
        pageInfo: {
          hasNextPage,
          get endCursor() {
            return end ? cursors.encode(end, scope) : null;
          },
        },
      };
    };
    const otherActions = access.otherActions ?? new Map<string, NoteCandidates>();
    // The caller's memberships, when a plan needs them: before the scan when its own plan does,
    // otherwise read beside the first batch (only the other actions' plans wait for them).
    const membershipsRead = this.notes.membershipsFor([access.candidates, ...otherActions.values()]);
    const scan = this.notes.scanner(access.candidates, access.candidates.kind === "where" ? await membershipsRead : [], args.withBodies);
    let outside: ((action: string, note: ListedNote) => boolean) | undefined;
    let batchSize = first + 1;
    for (;;) {
      const [rows, memberships] = await Promise.all([scan(position, batchSize + 1, args.workspaceId), membershipsRead]);
      outside ??= this.notes.outsidePlans(otherActions, memberships);
      const hasMoreRows = rows.length > batchSize;
      const batch = rows.slice(0, batchSize);
      const allowed = batch.length > 0 ? await access.readable(batch, first - edges.length, outside) : [];
      for (let i = 0; i < batch.length; i++) {
        const note = batch[i]!;
        if (allowed[i]) {
          // A readable note beyond a full page: there is a next page, and it starts here.
          if (edges.length === first) return finish(true);
          edges.push(new NoteEdge(note, this.cursors, scope));
        }
        position = { createdAt: note.createdAt, id: note.id };
      }
      if (!hasMoreRows) return finish(false);
      batchSize = Math.min(batchSize * 2, SCAN_BATCH_MAX);
    }
  }
}
