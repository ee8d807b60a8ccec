/**
 * The example's offline-first sync (examples/typescript-client/src/sync.ts) against the real API
 * over HTTP, under a policy where `user` reads only its own notes, so that what a user holds
 * follows their workspace roles: after every sync the store must equal a fresh `notes` query.
 */
import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { createClient, type Client } from "../../examples/typescript-client/src/client";
import { CreateNoteMutation, DeleteNoteMutation, NoteChangesQuery, UpdateNoteMutation } from "../../examples/typescript-client/src/operations";
import { readStore, syncOnce, type StoredNote, type SyncStore } from "../../examples/typescript-client/src/sync";
import { errorCode } from "../../examples/typescript-client/src/walkthrough";
import { CreateNoteDocument, CreateWorkspaceDocument, DeleteNoteDocument, ShareWorkspaceDocument, UnshareWorkspaceDocument, UpdateNoteDocument } from "../generated/graphql";
import { dataOf, signIn, startTestApi, type TestApi } from "../support/api";
import { permitAdmin } from "../support/permit";

const ROOT = path.resolve(__dirname, "../..");
const MANIFEST = path.join(ROOT, "examples/typescript-client/trusted-documents.json");
const NAMES = ["alice", "bob", "carol", "dave"] as const;
type Name = (typeof NAMES)[number];

let api: TestApi;
let dir: string;
const tokens = {} as Record<Name, string>;
const ids = {} as Record<Name, string>;
const clients = {} as Record<Name, Client>;

beforeAll(async () => {
  // Retention trims every 200 ms, for the RESYNC_REQUIRED test.
  api = await startTestApi({ NOTE_CHANGES_TRIM_INTERVAL_MS: "200" });
  dir = await mkdtemp(path.join(os.tmpdir(), "notes-sync-"));
  for (const name of NAMES) {
    ({ token: tokens[name], id: ids[name] } = await signIn(api, name));
    clients[name] = createClient({ url: api.url, token: tokens[name] });
  }
  const permit = permitAdmin(api.permit);
  // `user` reads only its own notes; workspace notes need a role on the workspace.
  await permit.api.roles.removePermissions("user", ["notes:get"]);
  await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:get", resource_set: "own_notes" });
  // bob creates the workspaces.
  await permit.api.users.update(ids.bob, { attributes: { plan: "premium" } });
});
afterAll(async () => {
  await api?.stop();
  await rm(dir, { recursive: true, force: true });
});

let stores = 0;
const newStorePath = () => path.join(dir, `store-${++stores}.json`);

const createNote = async (name: Name, title: string, workspaceId?: string) =>
  dataOf(await api.gql(CreateNoteDocument, { input: { title, body: `${title}, by ${name}`, workspaceId } }, tokens[name])).createNote;
const updateNote = async (name: Name, id: string, title: string) => dataOf(await api.gql(UpdateNoteDocument, { id, input: { title } }, tokens[name])).updateNote;
const deleteNote = async (name: Name, id: string) => dataOf(await api.gql(DeleteNoteDocument, { id }, tokens[name]));

/** A workspace of bob's, shared with the others at the roles given. */
async function workspace(name: string, members: Partial<Record<Name, "VIEWER" | "EDITOR">>): Promise<string> {
  const id = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name } }, tokens.bob)).createWorkspace.id;
  for (const [member, role] of Object.entries(members)) dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId: id, email: `${member}@example.com`, role }, tokens.bob));
  return id;
}

/** Every note the user may read, from a `notes` query of the test's own (small pages), in the store's shape. */
type FreshPage = {
  notes: { edges: { node: Omit<StoredNote, "workspaceId"> & { workspace: { id: string } | null } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
};
const FRESH = parse(`
  query Fresh($after: String) {
    notes(first: 3, after: $after) {
      edges { node { id title body version updatedAt workspace { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
`) as TypedDocumentNode<FreshPage, { after: string | null }>;
async function freshNotes(name: Name): Promise<StoredNote[]> {
  const all: StoredNote[] = [];
  let after: string | null = null;
  for (let page = 0; page < 200; page++) {
    const { notes }: FreshPage = dataOf(await api.gql(FRESH, { after }, tokens[name]));
    all.push(...notes.edges.map(({ node: { workspace, ...note } }) => ({ ...note, workspaceId: workspace?.id ?? null })));
    if (!notes.pageInfo.hasNextPage) return sortById(all);
    after = notes.pageInfo.endCursor;
  }
  throw new Error("too many pages");
}

const sortById = (notes: StoredNote[]) => [...notes].sort((a, b) => a.id.localeCompare(b.id));
const held = (store: SyncStore) => sortById(Object.values(store.notes));
const heldIds = (store: SyncStore) => Object.keys(store.notes);

/** What the feed holds for the user after `cursor`, read without syncing. */
async function feedAfter(client: Client, cursor: string): Promise<string[]> {
  const seen: string[] = [];
  for (let after = cursor; ; ) {
    const { noteChanges } = await client(NoteChangesQuery, { after, first: 100 });
    seen.push(...noteChanges.changes.map((c) => `${c.kind} ${c.noteId ?? c.workspaceId}`));
    if (!noteChanges.hasMore || noteChanges.cursor === after) return seen;
    after = noteChanges.cursor;
  }
}

/** A client that fails like a dropped connection on its `n`-th `noteChanges` request; `delivered` counts the changes of the pages before. */
function offlineAtChangesPage(client: Client, n: number): { client: Client; delivered: () => number } {
  let pages = 0;
  let delivered = 0;
  const failing = async <R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> => {
    if ((document as unknown) !== NoteChangesQuery) return client(document, variables);
    if (++pages === n) throw new TypeError("fetch failed");
    const result = await client(document, variables);
    delivered += (result as { noteChanges: { changes: unknown[] } }).noteChanges.changes.length;
    return result;
  };
  return { client: failing, delivered: () => delivered };
}

describe("catching up after being offline", () => {
  it("applies what others created, updated and deleted in a shared workspace: the store equals a fresh notes query", async () => {
    const shared = await workspace("shared", { alice: "VIEWER", carol: "EDITOR" });
    const first = await createNote("bob", "first", shared);
    const second = await createNote("bob", "second", shared);
    const bobsOwn = await createNote("bob", "bob's personal note");
    const alicesOwn = await createNote("alice", "alice's personal note");
    const storePath = newStorePath();

    const initial = await syncOnce(clients.alice, storePath);
    expect(initial.fullSync).toBe(true);
    expect(held(initial.store)).toEqual(await freshNotes("alice"));
    expect(heldIds(initial.store)).toEqual(expect.arrayContaining([first.id, second.id, alicesOwn.id]));
    expect(heldIds(initial.store)).not.toContain(bobsOwn.id);
    expect(initial.store.notes[first.id]).toMatchObject({ title: "first", version: 1, workspaceId: shared });

    // alice is offline: others write.
    const third = await createNote("bob", "third", shared);
    await updateNote("bob", first.id, "first, edited");
    await updateNote("bob", first.id, "first, edited again");
    await deleteNote("bob", second.id);
    const carols = await createNote("carol", "carol's", shared);
    const bobsOther = await createNote("bob", "bob's other personal note");

    // Until she syncs, her store is what it was.
    expect(await readStore(storePath)).toEqual(initial.store);
    const caughtUp = await syncOnce(clients.alice, storePath, { pageSize: 2 });
    expect(caughtUp.fullSync).toBe(false);
    expect(caughtUp.changes).toBeGreaterThanOrEqual(5);
    expect(held(caughtUp.store)).toEqual(await freshNotes("alice"));
    expect(caughtUp.store.notes[first.id]).toMatchObject({ title: "first, edited again", version: 3 });
    expect(heldIds(caughtUp.store)).toEqual(expect.arrayContaining([third.id, carols.id, alicesOwn.id]));
    expect(heldIds(caughtUp.store)).not.toContain(second.id);
    expect(heldIds(caughtUp.store)).not.toContain(bobsOther.id);
    expect(await readStore(storePath)).toEqual(caughtUp.store);
  });

  it("loses and repeats nothing when the connection drops between two pages: the file holds the first page and its cursor", async () => {
    const shared = await workspace("dropped", { alice: "VIEWER" });
    const storePath = newStorePath();
    const before = (await syncOnce(clients.alice, storePath)).store;
    const written = [];
    for (let i = 0; i < 5; i++) written.push(await createNote("bob", `note ${i}`, shared));
    await deleteNote("bob", written[4]!.id);
    const expected = await feedAfter(clients.alice, before.cursor);
    // Four creations and a deletion (the deleted note's creation is no longer shown).
    expect(expected).toEqual([...written.slice(0, 4).map((n) => `CREATED ${n.id}`), `DELETED ${written[4]!.id}`]);

    const dropping = offlineAtChangesPage(clients.alice, 2);
    await expect(syncOnce(dropping.client, storePath, { pageSize: 2 })).rejects.toThrow("fetch failed");
    const kept = dropping.delivered();
    expect(kept).toBeGreaterThan(0);
    const interrupted = (await readStore(storePath))!;
    expect(interrupted.cursor).not.toBe(before.cursor);
    // Exactly the first page was kept: the feed after the stored cursor is the rest, no more, no less.
    expect(await feedAfter(clients.alice, interrupted.cursor)).toEqual(expected.slice(kept));
    expect(heldIds(interrupted)).toEqual(expect.arrayContaining(written.slice(0, kept).map((n) => n.id)));
    // No temporary file is left behind.
    expect(await readdir(dir)).not.toContainEqual(expect.stringMatching(/\.tmp$/));

    const resumed = await syncOnce(clients.alice, storePath, { pageSize: 2 });
    expect(resumed.changes).toBe(expected.length - kept);
    expect(held(resumed.store)).toEqual(await freshNotes("alice"));
    expect(heldIds(resumed.store)).toEqual(expect.arrayContaining(written.slice(0, 4).map((n) => n.id)));
    expect(heldIds(resumed.store)).not.toContain(written[4]!.id);
  });

  it("is idempotent by version: a page read again keeps a newer held note and replaces an older one", async () => {
    const shared = await workspace("replayed", { alice: "VIEWER" });
    const storePath = newStorePath();
    const start = (await syncOnce(clients.alice, storePath)).store;
    const kept = await createNote("bob", "kept", shared);
    const replaced = await createNote("bob", "replaced", shared);
    await updateNote("bob", replaced.id, "replaced, v2");
    const synced = (await syncOnce(clients.alice, storePath)).store;

    // As if the first sync had fetched newer notes than the changes after its cursor (a full
    // fetch taken after the head): the changes are applied again over them.
    const newer = { ...synced.notes[kept.id]!, title: "newer here", version: 5 };
    const older = { ...synced.notes[replaced.id]!, title: "older here", version: 1 };
    await writeFile(storePath, JSON.stringify({ cursor: start.cursor, notes: { ...synced.notes, [kept.id]: newer, [replaced.id]: older } }));
    const replayed = await syncOnce(clients.alice, storePath);
    expect(replayed.fullSync).toBe(false);
    expect(replayed.changes).toBeGreaterThanOrEqual(3);
    expect(replayed.store.notes[kept.id]).toEqual(newer);
    expect(replayed.store.notes[replaced.id]).toMatchObject({ title: "replaced, v2", version: 2 });
  });
});

describe("restarting the client", () => {
  /** The example's command line (`npm run example:sync` with ONCE=1), in a process of its own. */
  function syncProcess(storePath: string): Promise<{ code: number | null; out: string }> {
    const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["examples/typescript-client/src/sync-main.ts"], {
      cwd: ROOT,
      env: { ...process.env, API_URL: api.url, EMAIL: "alice@example.com", STORE: storePath, ONCE: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
  }

  it("goes on from the stored cursor in a new process, and a sync with no changes leaves the file as it was", async () => {
    const shared = await workspace("restarted", { alice: "VIEWER" });
    const storePath = newStorePath();
    const before = await createNote("bob", "before the restart", shared);
    const first = await syncOnce(clients.alice, storePath);
    expect(first.store.notes[before.id]).toBeDefined();
    const during = await createNote("bob", "while stopped", shared);

    const restarted = await syncProcess(storePath);
    expect(restarted.code).toBe(0);
    expect(restarted.out).toMatch(/caught up: [1-9]\d* changes/);
    const afterRestart = (await readStore(storePath))!;
    expect(afterRestart.notes[during.id]).toMatchObject({ title: "while stopped", version: 1 });
    expect(afterRestart.notes[before.id]).toEqual(first.store.notes[before.id]);
    expect(held(afterRestart)).toEqual(await freshNotes("alice"));

    // Nothing happened since: neither a new process nor a new call changes the file.
    const bytes = await readFile(storePath, "utf8");
    const modified = (await stat(storePath)).mtimeMs;
    const idle = await syncProcess(storePath);
    expect(idle.code).toBe(0);
    expect(idle.out).toMatch(/caught up: 0 changes/);
    const again = await syncOnce(clients.alice, storePath);
    expect(again).toMatchObject({ fullSync: false, changes: 0 });
    expect(again.store).toEqual(afterRestart);
    expect(await readFile(storePath, "utf8")).toBe(bytes);
    expect((await stat(storePath)).mtimeMs).toBe(modified);
  });
});

describe("workspace access", () => {
  it("drops a workspace's notes from the store of a user unshared from it (but the ones they wrote), while a member keeps them", async () => {
    const shared = await workspace("unshared", { alice: "EDITOR", carol: "VIEWER" });
    const bobs = await createNote("bob", "bob's", shared);
    const alices = await createNote("alice", "alice's, in the workspace", shared);
    const aliceStore = newStorePath();
    const carolStore = newStorePath();
    await syncOnce(clients.alice, aliceStore);
    await syncOnce(clients.carol, carolStore);
    const later = await createNote("bob", "after the first sync", shared);
    dataOf(await api.gql(UnshareWorkspaceDocument, { workspaceId: shared, userId: ids.alice }, tokens.bob));

    const alice = (await syncOnce(clients.alice, aliceStore)).store;
    const carol = (await syncOnce(clients.carol, carolStore)).store;
    expect(held(alice)).toEqual(await freshNotes("alice"));
    expect(held(alice).filter((n) => n.workspaceId === shared)).toEqual([]);
    expect(heldIds(alice)).not.toContain(bobs.id);
    expect(heldIds(alice)).not.toContain(later.id);
    // Her own note stays readable (authorship), now without its workspace, which she may no longer read.
    expect(alice.notes[alices.id]).toMatchObject({ title: "alice's, in the workspace", workspaceId: null });

    expect(held(carol)).toEqual(await freshNotes("carol"));
    expect(held(carol).filter((n) => n.workspaceId === shared).map((n) => n.id).sort()).toEqual([bobs.id, alices.id, later.id].sort());
  });

  it("adds a workspace's existing notes to the store of a user it is shared with, and not before", async () => {
    const shared = await workspace("granted", {});
    const existing = [await createNote("bob", "existing 1", shared), await createNote("bob", "existing 2", shared)];
    await updateNote("bob", existing[0]!.id, "existing 1, edited");
    const storePath = newStorePath();
    const before = (await syncOnce(clients.dave, storePath)).store;
    expect(heldIds(before)).not.toContain(existing[0]!.id);
    expect(heldIds(before)).not.toContain(existing[1]!.id);
    // Their changes are older than dave's cursor: the feed will not bring them, only the grant.
    dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId: shared, email: "dave@example.com", role: "VIEWER" }, tokens.bob));
    expect(await feedAfter(clients.dave, before.cursor)).toEqual([`WORKSPACE_GRANTED ${shared}`]);

    const after = await syncOnce(clients.dave, storePath);
    expect(after.fullSync).toBe(false);
    expect(held(after.store)).toEqual(await freshNotes("dave"));
    expect(after.store.notes[existing[0]!.id]).toMatchObject({ title: "existing 1, edited", version: 2, workspaceId: shared });
    expect(after.store.notes[existing[1]!.id]).toMatchObject({ title: "existing 2", version: 1, workspaceId: shared });
  });
});

describe("RESYNC_REQUIRED", () => {
  it("discards a store whose cursor is older than the retention and syncs again in full; a newer cursor goes on", async () => {
    const storePath = newStorePath();
    const gone = await createNote("alice", "deleted, and its deletion trimmed");
    const old = (await syncOnce(clients.alice, storePath)).store;
    expect(old.notes[gone.id]).toBeDefined();
    await deleteNote("alice", gone.id);
    const kept = await createNote("alice", "created after");
    // The deletion falls out of the retention: trimmed in the background.
    await api.dataSource.query(`UPDATE note_changes SET at = now() - interval '400 days' WHERE note_id = $1`, [gone.id]);
    const deadline = Date.now() + 15_000;
    while (((await api.dataSource.query(`SELECT count(*)::int AS n FROM note_changes WHERE note_id = $1`, [gone.id])) as { n: number }[])[0]!.n > 0) {
      if (Date.now() > deadline) throw new Error("the expired changes were not trimmed");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await errorCode(clients.alice(NoteChangesQuery, { after: old.cursor, first: 10 }))).toBe("RESYNC_REQUIRED");

    // A store synced after the trim reads on.
    const carolStore = newStorePath();
    await syncOnce(clients.carol, carolStore);
    await createNote("carol", "carol's, after the trim");
    expect(await syncOnce(clients.carol, carolStore)).toMatchObject({ fullSync: false, changes: 1 });

    const resynced = await syncOnce(clients.alice, storePath);
    expect(resynced.fullSync).toBe(true);
    expect(held(resynced.store)).toEqual(await freshNotes("alice"));
    expect(heldIds(resynced.store)).not.toContain(gone.id);
    expect(resynced.store.notes[kept.id]).toMatchObject({ title: "created after" });
    // And from there on, incrementally again.
    expect(await syncOnce(clients.alice, storePath)).toMatchObject({ fullSync: false, changes: 0 });
  });
});

describe("the sync sending document ids to a server with TRUSTED_DOCUMENTS", () => {
  let trusted: TestApi;
  beforeAll(async () => {
    trusted = await startTestApi({ TRUSTED_DOCUMENTS: MANIFEST });
  });
  afterAll(() => trusted?.stop());

  it("runs every sync operation from the example's manifest", async () => {
    const client = createClient({ url: trusted.url, token: await trusted.token("erin@example.com"), send: "id" });
    const storePath = newStorePath();
    const { createNote: gone } = await client(CreateNoteMutation, { input: { title: "to delete" } });
    const first = await syncOnce(client, storePath);
    expect(first.store.notes[gone.id]).toBeDefined();
    const { createNote: note } = await client(CreateNoteMutation, { input: { title: "by id" } });
    await client(UpdateNoteMutation, { id: note.id, input: { body: "edited", expectedVersion: 1 } });
    await client(DeleteNoteMutation, { id: gone.id });

    const second = await syncOnce(client, storePath);
    expect(second.fullSync).toBe(false);
    expect(second.store.notes[note.id]).toMatchObject({ title: "by id", body: "edited", version: 2 });
    expect(heldIds(second.store)).not.toContain(gone.id);
    // Text the manifest does not list is refused: the ids above were what ran.
    expect(await errorCode(createClient({ url: trusted.url, token: await trusted.token("erin@example.com"), send: "text" })(FRESH, { after: null }))).toBe("UNTRUSTED_DOCUMENT");
  });
});
