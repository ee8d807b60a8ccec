import type { DataSource } from "typeorm";
import { badInput, conflict, notFound } from "../errors";
import { decodeCursor, encodeCursor, type Position } from "../graphql/cursor";
import { recordFacts } from "../outbox/facts";
import type { FactDelivery } from "../outbox/delivery";
import { limitText, NOTE_BODY_MAX, NOTE_TITLE_MAX, requirePageSize, requireTrimmedText } from "../validation";
import type { Note } from "./note.entity";
import type { NoteRepository } from "./note.repository";

export interface NotePage {
  edges: { cursor: string; node: Note }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Decides, for a batch of candidate notes, which ones the caller may read (one PDP round trip). */
export type ReadableFilter = (notes: Note[]) => Promise<boolean[]>;

/** The largest batch of candidates examined at once while filling a page. */
const SCAN_BATCH_MAX = 500;

export class NoteService {
  constructor(
    private readonly ds: DataSource,
    private readonly notes: NoteRepository,
    private readonly facts: FactDelivery,
  ) {}

  findByIds(ids: readonly string[]): Promise<Note[]> {
    return this.notes.findByIds(ids);
  }

  async create(ownerId: string, input: { title: string; body?: string | null; workspaceId?: string | null }): Promise<Note> {
    const title = requireTrimmedText(input.title, "title", NOTE_TITLE_MAX);
    const body = limitText(input.body ?? "", "body", NOTE_BODY_MAX);
    const workspaceId = input.workspaceId ?? null;
    const { note, factIds } = await this.ds.transaction(async (m) => {
      const note = await this.notes.insert(m, { title, body, ownerId, workspaceId });
      const factIds = await recordFacts(m, [{ kind: "note.created", noteId: note.id, ownerId, workspaceId }]);
      return { note, factIds };
    });
    await this.facts.deliver(factIds);
    return note;
  }

  async update(id: string, input: { title?: string | null; body?: string | null; expectedVersion?: number | null }): Promise<Note> {
    const change: { title?: string; body?: string } = {};
    if (input.title !== undefined && input.title !== null) change.title = requireTrimmedText(input.title, "title", NOTE_TITLE_MAX);
    if (input.body !== undefined && input.body !== null) change.body = limitText(input.body, "body", NOTE_BODY_MAX);
    if (change.title === undefined && change.body === undefined) throw badInput("Give a title or a body to change.", "input");
    const expected = input.expectedVersion ?? null;
    return this.ds.transaction(async (m) => {
      const updated = await this.notes.update(m, id, change, expected);
      if (updated) return updated;
      const current = await this.notes.findById(m, id);
      if (!current) throw notFound("Note", id);
      throw conflict(`The note changed meanwhile: it is at version ${current.version}, not ${expected}.`, {
        currentVersion: current.version,
      });
    });
  }

  async delete(id: string): Promise<string> {
    const factIds = await this.ds.transaction(async (m) => {
      if (!(await this.notes.delete(m, id))) throw notFound("Note", id);
      return recordFacts(m, [{ kind: "note.deleted", noteId: id }]);
    });
    await this.facts.deliver(factIds);
    return id;
  }

  /**
   * A page of readable notes, newest first, without assuming anything about the policy:
   * candidates are scanned in cursor order and checked in batches until the page is full.
   * The end cursor is the last row examined, so a later page neither skips a readable note
   * nor repeats one, and rows already found unreadable are not examined again.
   */
  async page(args: { first: number; after?: string | null; workspaceId: string | null }, readable: ReadableFilter): Promise<NotePage> {
    const first = requirePageSize(args.first);
    let position: Position | null = args.after ? decodeCursor(args.after) : null;
    const edges: NotePage["edges"] = [];
    let batchSize = first + 1;
    for (;;) {
      const rows = await this.notes.after(position, batchSize + 1, args.workspaceId);
      const hasMoreRows = rows.length > batchSize;
      const batch = rows.slice(0, batchSize);
      const allowed = batch.length > 0 ? await readable(batch) : [];
      for (let i = 0; i < batch.length; i++) {
        const note = batch[i]!;
        if (edges.length === first) {
          // The page is full: a readable row beyond it proves there is a next page; unreadable
          // rows may be skipped over by the cursor, since no later page could show them.
          if (allowed[i]) return this.finish(edges, position, true);
        } else if (allowed[i]) {
          edges.push({ cursor: encodeCursor(note), node: note });
        }
        position = { createdAt: note.createdAt, id: note.id };
      }
      if (!hasMoreRows) return this.finish(edges, position, false);
      if (edges.length === first) return this.finish(edges, position, true);
      batchSize = Math.min(batchSize * 2, SCAN_BATCH_MAX);
    }
  }

  private finish(edges: NotePage["edges"], position: Position | null, hasNextPage: boolean): NotePage {
    return { edges, pageInfo: { hasNextPage, endCursor: position ? encodeCursor(position) : null } };
  }
}
