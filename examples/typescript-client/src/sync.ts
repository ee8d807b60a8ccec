/**
 * Offline-first sync: a local copy of every note the user may read, kept in a JSON file that
 * survives a restart, and brought up to date from the change feed whenever the client is online.
 *
 * The recipe:
 * 1. No store yet: take `noteChangesHead` FIRST, then page through `notes`. Anything committed
 *    while paging lies after the head, so step 2 applies it (or finds it already applied).
 * 2. Then, and on every later sync: read `noteChanges(after: cursor)` page by page until
 *    `hasMore` is false. Each page's changes and its `cursor` are written in ONE atomic write,
 *    so the file always holds a cursor and exactly the changes up to it: a crash or a lost
 *    connection re-reads a page at worst, and never skips one.
 * 3. RESYNC_REQUIRED (the cursor is older than the server keeps changes): start again at 1.
 *
 * Applying a change is idempotent, so reading a page twice (after a crash, or a change that
 * step 1 already fetched) is harmless: CREATED and UPDATED replace the held note only when they
 * bring a newer `version`, DELETED removes it, and the workspace kinds ask the API again.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { ApiError, type Client } from "./client";
import type { NoteChangesQuery as ChangesPage, NotesForSyncQuery as NotesPage, StoredNoteFragment } from "./gql/graphql";
import { NoteChangesHeadQuery, NoteChangesQuery, NoteForSyncQuery, NotesForSyncQuery } from "./operations";

/** A note as the store keeps it. */
export interface StoredNote {
  id: string;
  title: string;
  body: string;
  version: number;
  updatedAt: string;
  /** As the API shows it to this user: null for a personal note or one whose workspace they may not read. */
  workspaceId: string | null;
}

/** The file's content: the feed position and every note applied up to it. */
export interface SyncStore {
  cursor: string;
  notes: Record<string, StoredNote>;
}

export interface SyncResult {
  store: SyncStore;
  /** True when this sync fetched every note (no store yet, or RESYNC_REQUIRED). */
  fullSync: boolean;
  /** Changes read from the feed and applied (a change already held counts too). */
  changes: number;
}

export interface SyncOptions {
  /** Changes per `noteChanges` page (1-500) and notes per `notes` page (at most 100). */
  pageSize?: number;
}

type Change = ChangesPage["noteChanges"]["changes"][number];

const NOTES_PAGE_MAX = 100;

/**
 * Brings the store at `storePath` up to date and returns it. One store per user: the feed's
 * cursor is bound to the user who took it. Throws on any failure (offline, AUTHZ_UNAVAILABLE);
 * the file then holds the last complete page, and the next sync goes on from there.
 */
export async function syncOnce(client: Client, storePath: string, { pageSize = 100 }: SyncOptions = {}): Promise<SyncResult> {
  const held = await readStore(storePath);
  if (held) {
    try {
      const { store, changes } = await catchUp(client, storePath, held, pageSize);
      return { store, fullSync: false, changes };
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "RESYNC_REQUIRED")) throw error;
      // Changes after our cursor are gone from the server: what we hold can no longer be
      // brought up to date, only replaced. It stays on disk (usable offline) until the new one is complete.
    }
  }
  const fresh = await fullSync(client, storePath, pageSize);
  // What was committed while paging: usually nothing, but it moves the cursor past the fetch.
  const { store, changes } = await catchUp(client, storePath, fresh, pageSize);
  return { store, fullSync: true, changes };
}

/** The store on disk, or null when there is none yet. */
export async function readStore(storePath: string): Promise<SyncStore | null> {
  let text: string;
  try {
    text = await readFile(storePath, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw error;
  }
  const store = JSON.parse(text) as SyncStore;
  if (typeof store.cursor !== "string" || typeof store.notes !== "object" || store.notes === null) throw new Error(`${storePath} is not a sync store`);
  return store;
}

/**
 * Replaces the store in one step: the new content goes to a temporary file, is flushed to the
 * disk, and is then renamed over the old one (a rename is atomic), so a crash at any moment
 * leaves either the old store or the new one, never half of one.
 */
async function writeStore(storePath: string, store: SyncStore): Promise<void> {
  const temporary = `${storePath}.${randomBytes(6).toString("hex")}.tmp`;
  const file = await open(temporary, "w");
  try {
    await file.writeFile(`${JSON.stringify(store, null, 2)}\n`);
    await file.sync();
  } catch (error) {
    await file.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await file.close();
  await rename(temporary, storePath);
}

/** Step 1: the head first, then every note; one write. */
async function fullSync(client: Client, storePath: string, pageSize: number): Promise<SyncStore> {
  const { noteChangesHead: cursor } = await client(NoteChangesHeadQuery, {});
  const notes = await fetchNotes(client, pageSize);
  const store: SyncStore = { cursor, notes: Object.fromEntries(notes.map((n) => [n.id, n])) };
  await writeStore(storePath, store);
  return store;
}

/** Step 2: the feed's pages until it has nothing more, each written with its cursor. */
async function catchUp(client: Client, storePath: string, start: SyncStore, pageSize: number): Promise<{ store: SyncStore; changes: number }> {
  let store = start;
  let changes = 0;
  for (;;) {
    const { noteChanges: page } = await client(NoteChangesQuery, { after: store.cursor, first: pageSize });
    // Applied to a copy: if a request fails halfway through the page, the store stays as it was.
    const notes = { ...store.notes };
    for (const change of page.changes) await apply(client, notes, change, pageSize);
    changes += page.changes.length;
    // An idle feed hands back the same cursor: nothing to write, the file stays untouched.
    const moved = page.cursor !== store.cursor;
    if (moved) {
      store = { cursor: page.cursor, notes };
      await writeStore(storePath, store);
    }
    // Not moved although `hasMore`: the next change is still being settled on the server; the next sync gets it.
    if (!page.hasMore || !moved) return { store, changes };
  }
}

async function apply(client: Client, notes: Record<string, StoredNote>, change: Change, pageSize: number): Promise<void> {
  switch (change.kind) {
    case "CREATED":
    case "UPDATED": {
      // `note` is the note as it is now, so it may be newer than the change itself.
      if (!change.note) return;
      const held = notes[change.note.id];
      if (!held || change.note.version > held.version) notes[change.note.id] = toStored(change.note);
      return;
    }
    case "DELETED":
      delete notes[change.noteId!];
      return;
    case "WORKSPACE_GRANTED":
      // The feed never sent this workspace's notes (the user could not read them): fetch them now.
      return refetchWorkspace(client, notes, change.workspaceId!, pageSize);
    case "WORKSPACE_REVOKED":
      // Some of this workspace's notes may still be readable (e.g. the user wrote them): ask for each.
      return recheckWorkspace(client, notes, change.workspaceId!);
  }
}

/** The workspace's notes become exactly what `notes(workspaceId)` returns now. */
async function refetchWorkspace(client: Client, notes: Record<string, StoredNote>, workspaceId: string, pageSize: number): Promise<void> {
  let fresh: StoredNote[];
  try {
    fresh = await fetchNotes(client, pageSize, workspaceId);
  } catch (error) {
    // Access lost again since the grant: the WORKSPACE_REVOKED further on in the feed handles it.
    if (error instanceof ApiError && error.code === "NOT_FOUND") return;
    throw error;
  }
  for (const note of Object.values(notes)) if (note.workspaceId === workspaceId) delete notes[note.id];
  for (const note of fresh) notes[note.id] = note;
}

/** Keeps the workspace's held notes that `note(id)` still returns (as it returns them), drops the rest. */
async function recheckWorkspace(client: Client, notes: Record<string, StoredNote>, workspaceId: string): Promise<void> {
  for (const held of Object.values(notes).filter((n) => n.workspaceId === workspaceId)) {
    try {
      const { note } = await client(NoteForSyncQuery, { id: held.id });
      if (note) notes[held.id] = toStored(note);
      else delete notes[held.id];
    } catch (error) {
      if (!(error instanceof ApiError && error.code === "NOT_FOUND")) throw error;
      delete notes[held.id];
    }
  }
}

/** Every note the user may read (of one workspace, with `workspaceId`), through the connection's pages. */
async function fetchNotes(client: Client, pageSize: number, workspaceId?: string): Promise<StoredNote[]> {
  const all: StoredNote[] = [];
  let after: string | null = null;
  for (;;) {
    const { notes }: NotesPage = await client(NotesForSyncQuery, { first: Math.min(pageSize, NOTES_PAGE_MAX), after, workspaceId });
    all.push(...notes.edges.map((edge) => toStored(edge.node)));
    if (!notes.pageInfo.hasNextPage || !notes.pageInfo.endCursor) return all;
    after = notes.pageInfo.endCursor;
  }
}

const toStored = ({ id, title, body, version, updatedAt, workspace }: StoredNoteFragment): StoredNote => ({
  id,
  title,
  body,
  version,
  updatedAt,
  workspaceId: workspace?.id ?? null,
});
