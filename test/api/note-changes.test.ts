/**
 * The change feed's log and cursors against the real API and PostgreSQL: a reader polling while
 * writers commit out of order never skips a change and never sees one twice; cursors are the
 * caller's own and tamper-proof; bad input is refused with a stable code; retention trims in
 * the background and an older cursor gets RESYNC_REQUIRED.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { parse } from "graphql";
import { Client } from "pg";
import { ChangeLogRepository } from "../../src/changes/change-log.repository";
import { comparePositions, type ChangePosition } from "../../src/changes/change-log";
import { CreateNoteDocument, NoteChangesDocument, NoteChangesHeadDocument, NotesDocument, UpdateNoteDocument } from "../generated/graphql";
import { dataOf, startTestApi, type TestApi } from "../support/api";
import { untilChangesReadable } from "../support/database";

let api: TestApi;
let alice: string;
let bob: string;

beforeAll(async () => {
  api = await startTestApi({ NOTE_CHANGES_TRIM_INTERVAL_MS: "200" });
  alice = await api.token("alice@example.com");
  bob = await api.token("bob@example.com");
  // Seen once, so the users the log's rows are written for exist.
  await head(alice);
  await head(bob);
});
afterAll(() => api.stop());

const head = async (token: string) => dataOf(await api.gql(NoteChangesHeadDocument, {}, token)).noteChangesHead;
const createNote = async (token: string, title: string) => dataOf(await api.gql(CreateNoteDocument, { input: { title } }, token)).createNote;
const changesAfter = (token: string, after: string, first?: number) => api.gql(NoteChangesDocument, { after, first }, token);

/** A connection of its own, for a transaction the test holds open. */
async function connection(): Promise<Client> {
  const client = new Client({ connectionString: api.config.databaseUrl });
  await client.connect();
  return client;
}

async function insertChange(client: Client, title: string): Promise<void> {
  const [{ id }] = (await client.query(`INSERT INTO notes (title, body, owner_id, version) SELECT $1, '', id, 1 FROM users LIMIT 1 RETURNING id`, [title])).rows as { id: string }[];
  await client.query(`INSERT INTO note_changes (kind, note_id, owner_id, version) SELECT 'CREATED', $1, owner_id, 1 FROM notes WHERE id = $1`, [id]);
}

describe("commit order: a reader polling while writers commit never skips a change", () => {
  it("holds back a change committed first behind an older transaction still in flight, then reads both, in (tx, id) order", async () => {
    const log = new ChangeLogRepository(api.dataSource);
    let position: ChangePosition = await log.head();
    const older = await connection();
    const newer = await connection();
    try {
      await older.query("BEGIN");
      await insertChange(older, "older transaction, commits last");
      await newer.query("BEGIN");
      await insertChange(newer, "newer transaction, commits first");
      await newer.query("COMMIT");

      // Committed, but behind a transaction still in flight: not readable yet, and the reader does not move past it.
      const held = await log.read(position, 100);
      expect(held.changes).toEqual([]);
      expect(held.end === null || comparePositions(held.end, position) <= 0).toBe(true);

      await older.query("COMMIT");
      // The horizon is the whole cluster's: another database's transaction may still hold it a moment.
      let both = await log.read(position, 100);
      for (const deadline = Date.now() + 10_000; both.changes.length < 2 && Date.now() < deadline; both = await log.read(position, 100)) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(both.changes).toHaveLength(2);
      expect(comparePositions(both.changes[0]!.position, both.changes[1]!.position)).toBeLessThan(0);
      position = both.changes[1]!.position;
      expect((await log.read(position, 100)).changes).toEqual([]);
    } finally {
      await older.end();
      await newer.end();
    }
  });

  it("sees every change of concurrent writers exactly once while polling throughout (and rolled-back ones never)", async () => {
    const log = new ChangeLogRepository(api.dataSource);
    const start = await log.head();
    const writers = await Promise.all([1, 2, 3, 4].map(() => connection()));
    const committed = new Set<string>();
    const seen: string[] = [];
    let position = start;
    let writing = true;
    const poller = (async () => {
      const deadline = Date.now() + 20_000;
      while ((writing || seen.length < committed.size) && Date.now() < deadline) {
        const read = await log.read(position, 7);
        for (const c of read.changes) seen.push(c.noteId!);
        position = read.changes.length === 7 ? read.changes.at(-1)!.position : [position, read.changes.at(-1)?.position ?? position, read.end ?? position].reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    try {
      // Each writer opens a transaction, inserts, waits a random while (so commits interleave
      // out of insert order), then commits — or, one time in five, rolls back.
      await Promise.all(
        writers.map(async (client, w) => {
          for (let i = 0; i < 25; i++) {
            await client.query("BEGIN");
            const [{ id }] = (await client.query(`INSERT INTO notes (title, body, owner_id, version) SELECT $1, '', id, 1 FROM users LIMIT 1 RETURNING id`, [`w${w} ${i}`])).rows as { id: string }[];
            await client.query(`INSERT INTO note_changes (kind, note_id, owner_id, version) SELECT 'CREATED', id, owner_id, 1 FROM notes WHERE id = $1`, [id]);
            await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
            if (Math.random() < 0.2) {
              await client.query("ROLLBACK");
            } else {
              await client.query("COMMIT");
              committed.add(id);
            }
          }
        }),
      );
    } finally {
      writing = false;
      await poller;
      await Promise.all(writers.map((c) => c.end()));
    }
    expect(committed.size).toBeGreaterThan(50);
    expect(seen).toHaveLength(new Set(seen).size);
    expect(new Set(seen)).toEqual(committed);
  });
});

describe("noteChanges through the API", () => {
  it("returns the caller's changes after the head, oldest first, each with a cursor that resumes after it", async () => {
    // The head and the reads trail transactions open elsewhere on the cluster: wait for the log
    // to be readable before the head (no earlier change after it) and after the writes (all three in).
    await untilChangesReadable(api.dataSource);
    const from = await head(alice);
    const first = await createNote(alice, "one");
    const second = await createNote(alice, "two");
    dataOf(await api.gql(UpdateNoteDocument, { id: first.id, input: { title: "one, edited" } }, alice));
    await untilChangesReadable(api.dataSource);

    const page = dataOf(await changesAfter(alice, from)).noteChanges;
    expect(page.changes.map((c) => [c.kind, c.noteId, c.version])).toEqual([
      ["CREATED", first.id, 1],
      ["CREATED", second.id, 1],
      ["UPDATED", first.id, 2],
    ]);
    // The note as it is now, on every change of it.
    expect(page.changes[0]!.note).toEqual({ id: first.id, title: "one, edited", version: 2 });
    expect(page.hasMore).toBe(false);

    const resumed = dataOf(await changesAfter(alice, page.changes[0]!.cursor)).noteChanges;
    expect(resumed.changes.map((c) => c.noteId)).toEqual([second.id, first.id]);
    const limited = dataOf(await changesAfter(alice, from, 2)).noteChanges;
    expect(limited.changes).toHaveLength(2);
    expect(limited.hasMore).toBe(true);
    expect(dataOf(await changesAfter(alice, limited.cursor)).noteChanges.changes.map((c) => c.kind)).toEqual(["UPDATED"]);
  });

  it("hands back the same cursor when nothing happened, and a new one once something did", async () => {
    // Every earlier change readable first: one that became readable between the two reads would move the cursor.
    await untilChangesReadable(api.dataSource);
    const caughtUp = dataOf(await changesAfter(bob, await head(bob))).noteChanges.cursor;
    const idle = dataOf(await changesAfter(bob, caughtUp)).noteChanges;
    expect(idle.changes).toEqual([]);
    expect(idle.cursor).toBe(caughtUp);
    const note = await createNote(bob, "something");
    await untilChangesReadable(api.dataSource);
    const moved = dataOf(await changesAfter(bob, caughtUp)).noteChanges;
    expect(moved.changes.map((c) => c.noteId)).toEqual([note.id]);
    expect(moved.cursor).not.toBe(caughtUp);
  });

  it("refuses another caller's cursor, an altered one and a list cursor as BAD_USER_INPUT, and first out of 1..500", async () => {
    const alices = await head(alice);
    const codeOf = (r: Awaited<ReturnType<typeof changesAfter>>) => r.errors?.map((e) => [e.extensions?.code, e.extensions?.field]);
    expect(dataOf(await changesAfter(alice, alices)).noteChanges.changes).toBeDefined();
    expect(codeOf(await changesAfter(bob, alices))).toEqual([["BAD_USER_INPUT", "after"]]);
    const altered = `${alices.slice(0, 10)}${alices[10] === "A" ? "B" : "A"}${alices.slice(11)}`;
    expect(codeOf(await changesAfter(alice, altered))).toEqual([["BAD_USER_INPUT", "after"]]);
    expect(codeOf(await changesAfter(alice, ""))).toEqual([["BAD_USER_INPUT", "after"]]);
    await createNote(alice, "for a list cursor");
    const listCursor = dataOf(await api.gql(NotesDocument, { first: 1 }, alice)).notes.pageInfo.endCursor!;
    expect(codeOf(await changesAfter(alice, listCursor))).toEqual([["BAD_USER_INPUT", "after"]]);
    for (const first of [0, 501, -1]) expect(codeOf(await changesAfter(alice, alices, first))?.map(([code]) => code)).toEqual(["BAD_USER_INPUT"]);
    expect(codeOf(await changesAfter(alice, alices, 0))).toEqual([["BAD_USER_INPUT", "first"]]);
    // 500 fits the cost limit with a lean selection (a sync's), not with every field.
    const lean = parse(`query ($after: String!) { noteChanges(after: $after, first: 500) { cursor changes { kind noteId version } } }`) as TypedDocumentNode<{ noteChanges: { cursor: string } }, { after: string }>;
    expect(typeof dataOf(await api.gql(lean, { after: alices }, alice)).noteChanges.cursor).toBe("string");
    expect(dataOf(await changesAfter(alice, alices, 1)).noteChanges).toBeDefined();
  });

  it("needs a session", async () => {
    const anonymous = await api.gql(NoteChangesHeadDocument, {});
    expect(anonymous.errors?.map((e) => e.extensions?.code)).toEqual(["UNAUTHENTICATED"]);
    expect(typeof (await head(alice))).toBe("string");
  });
});

describe("retention", () => {
  it("trims expired changes in the background; a cursor before them gets RESYNC_REQUIRED, a newer one goes on", async () => {
    const old = await head(alice);
    const expired = await createNote(alice, "expired soon");
    // The head trails any transaction still open on the cluster (other suites run beside this
    // one): wait until it has passed the expired change, so the newer cursor is truly after it.
    await untilChangesReadable(api.dataSource);
    const recentCursor = await head(alice);
    const recent = await createNote(alice, "recent");
    await api.dataSource.query(`UPDATE note_changes SET at = now() - interval '40 days' WHERE note_id = $1`, [expired.id]);

    const logged = async (noteId: string) => ((await api.dataSource.query(`SELECT count(*)::int AS n FROM note_changes WHERE note_id = $1`, [noteId])) as { n: number }[])[0]!.n;
    const deadline = Date.now() + 10_000;
    while ((await logged(expired.id)) > 0) {
      if (Date.now() > deadline) throw new Error("the expired change was not trimmed");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const refused = await changesAfter(alice, old);
    expect(refused.data ?? null).toBeNull();
    expect(refused.errors?.map((e) => e.extensions?.code)).toEqual(["RESYNC_REQUIRED"]);
    // A cursor taken after what was trimmed loses nothing: it still reads.
    const kept = dataOf(await changesAfter(alice, recentCursor)).noteChanges;
    expect(kept.changes.map((c) => c.noteId)).toContain(recent.id);
    // The recent change itself was not trimmed.
    expect(await logged(recent.id)).toBe(1);
  });
});
