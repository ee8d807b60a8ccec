/**
 * Live note events end to end: a real WebSocket client (graphql-ws) against the real server,
 * events announced by PostgreSQL NOTIFY from the write transactions, each decided by the local
 * PDP through the permitio SDK. Default policy here (every user may `get` every note); the
 * restrictive cases are in subscriptions-policy.test.ts.
 */
import type { Permit } from "permitio";
import { CreateNoteDocument, CreateWorkspaceDocument, DeleteNoteDocument, MeDocument, NoteChangesDocument, NoteChangesHeadDocument, ShareWorkspaceDocument, UpdateNoteDocument } from "../generated/graphql";
import { logNoteChange } from "../../src/changes/change-log";
import { NoteRepository } from "../../src/notes/note.repository";
import { dataOf, startTestApi, type TestApi } from "../support/api";
import { untilChangesReadable } from "../support/database";
import { decisionCalls, pdpStats, permitAdmin, resetPdpStats } from "../support/permit";
import { connect, NOTE_EVENTS, subscribe, waitFor, type NoteEventsResult, type WsConnection } from "../support/subscriptions";

let api: TestApi;
let permit: Permit;
let alice: string;
let bob: string;
let carol: string;
let workspaceId: string;
const connections: WsConnection[] = [];

const open = async (token: string) => {
  const connection = connect(api.url, token);
  connections.push(connection);
  await connection.acknowledged;
  return connection;
};

beforeAll(async () => {
  api = await startTestApi();
  permit = permitAdmin(api.permit);
  alice = await api.token("alice@example.com");
  bob = await api.token("bob@example.com");
  carol = await api.token("carol@example.com");
  await api.gql(MeDocument, {}, alice);
  await api.gql(MeDocument, {}, carol);
  const bobId = (await api.gql(MeDocument, {}, bob)).data!.me.id;
  await permit.api.users.update(bobId, { attributes: { plan: "premium" } });
  workspaceId = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name: "Launch" } }, bob)).createWorkspace.id;
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId, email: "alice@example.com", role: "EDITOR" }, bob));
});
// A subscription starts at the feed's head, which trails any transaction still open on the
// cluster (other suites run beside this one): an earlier test's change not yet readable would
// reach the next test's subscription. Each test starts once they all are.
beforeEach(() => untilChangesReadable(api.dataSource));
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.dispose()));
  await waitFor(() => api.noteEvents.subscriberCount === 0, 5000, "subscriptions to end");
});
afterAll(() => api.stop());

const createNote = async (token: string, title: string, inWorkspace?: string) => {
  const res = await api.gql(CreateNoteDocument, { input: { title, workspaceId: inWorkspace } }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.createNote;
};

describe("noteEvents in a shared workspace", () => {
  it("gives a member CREATED, UPDATED and DELETED for the workspace's notes, with versions, in commit order", async () => {
    const { client } = await open(alice);
    const events = subscribe<NoteEventsResult>(client, NOTE_EVENTS, { workspaceId });
    await waitFor(() => api.noteEvents.subscriberCount === 1);

    // Each change is awaited before the next: an UPDATED whose note is already gone is not delivered (its DELETED is).
    const received: NoteEventsResult["noteEvents"][] = [];
    const nextEvent = async () => {
      const result = await events.next();
      expect(result.errors).toBeUndefined();
      received.push(result.data!.noteEvents);
    };
    const note = await createNote(bob, "Plan", workspaceId);
    await nextEvent();
    expect((await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "Plan v2" } }, bob)).errors).toBeUndefined();
    await nextEvent();
    expect((await api.gql(DeleteNoteDocument, { id: note.id }, bob)).errors).toBeUndefined();
    await nextEvent();

    expect(received.map((e) => [e.kind, e.noteId, e.version])).toEqual([
      ["CREATED", note.id, 1],
      ["UPDATED", note.id, 2],
      ["DELETED", note.id, 2],
    ]);
    expect(received[0]!.note).toEqual({ id: note.id, title: expect.any(String), version: 1 });
    expect(received[1]!.note).toEqual({ id: note.id, title: "Plan v2", version: 2 });
    expect(received[2]!.note).toBeNull();
    expect(Number.isNaN(Date.parse(received[0]!.at))).toBe(false);
  });

  it("filters by workspace: a personal note is not an event of the workspace, but is one without workspaceId", async () => {
    const { client } = await open(alice);
    const inWorkspace = subscribe<NoteEventsResult>(client, NOTE_EVENTS, { workspaceId });
    const everything = subscribe<NoteEventsResult>(client, NOTE_EVENTS, {});
    await waitFor(() => api.noteEvents.subscriberCount === 2);

    const personal = await createNote(bob, "Bob's own");
    expect((await everything.next()).data!.noteEvents).toMatchObject({ kind: "CREATED", noteId: personal.id });
    await inWorkspace.expectNothingFor(300);
  });

  it("refuses a non-member's subscription to the workspace with NOT_FOUND, and lets a member subscribe", async () => {
    const { client } = await open(carol);
    const denied = subscribe<NoteEventsResult>(client, NOTE_EVENTS, { workspaceId });
    const result = await denied.next();
    expect(result.data ?? null).toBeNull();
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["NOT_FOUND"]);
    await expect(denied.ended).resolves.toBeNull();
    expect(api.noteEvents.subscriberCount).toBe(0);

    const member = subscribe<NoteEventsResult>((await open(alice)).client, NOTE_EVENTS, { workspaceId });
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    const note = await createNote(bob, "for members", workspaceId);
    expect((await member.next()).data!.noteEvents.noteId).toBe(note.id);
  });

  it("refuses a malformed workspaceId with BAD_USER_INPUT", async () => {
    const { client } = await open(alice);
    const result = await subscribe<NoteEventsResult>(client, NOTE_EVENTS, { workspaceId: "not-an-id" }).next();
    expect(result.errors?.map((e) => e.extensions?.code)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("one PDP call per batch of events", () => {
  it("decides an event for every subscriber of this replica in one bulk check", async () => {
    const subscribers = await Promise.all([alice, bob, carol].map(open));
    const streams = subscribers.flatMap(({ client }) => [subscribe<NoteEventsResult>(client, NOTE_EVENTS), subscribe<NoteEventsResult>(client, NOTE_EVENTS)]);
    await waitFor(() => api.noteEvents.subscriberCount === 6);
    const note = await createNote(bob, "counted");
    // The create and its event decide with the PDP too: count from once every stream has it.
    for (const stream of streams) expect((await stream.next()).data!.noteEvents.kind).toBe("CREATED");
    await resetPdpStats(api.permit);
    const updated = await api.gql(UpdateNoteDocument, { id: note.id, input: { body: "changed" } }, bob);
    expect(updated.errors).toBeUndefined();
    for (const stream of streams) expect((await stream.next()).data!.noteEvents.kind).toBe("UPDATED");
    const calls = decisionCalls(await pdpStats(api.permit));
    // updateNote's own rule is one bulk call; the event for six subscriptions of three users is one more.
    expect(calls).toEqual({ single: 0, bulk: 2, total: 2 });
    const metrics = await (await api.http("/metrics")).text();
    expect(metrics).toMatch(/^graphql_subscriptions 6$/m);
    expect(Number(/^note_events_total\{outcome="delivered"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(12);
  });
});

describe("only committed changes are announced", () => {
  it("gives DELETED for the personal notes of a user deleted through Hanko, asked from the note's last attributes", async () => {
    const erin = await api.token("erin@example.com");
    const note = await createNote(erin, "erin's own");
    // Readable before alice subscribes, or her subscription would begin with its CREATED.
    await untilChangesReadable(api.dataSource);
    const { client } = await open(alice);
    const events = subscribe<NoteEventsResult>(client, NOTE_EVENTS);
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    const hook = await api.http("/dev/webhook-token", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ event: "user.delete", email: "erin@example.com" }),
    });
    const { token } = (await hook.json()) as { token: string };
    const hubCalls = api.noteEvents.stats.pdpCalls;
    const posted = await api.http("/webhooks/hanko", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, event: "user.delete" }) });
    expect(posted.status).toBe(200);
    // Under the default policy alice may read erin's note. A personal note has no members to
    // decide for before the deletion: the hub asks the PDP from the row's last attributes.
    expect((await events.next()).data!.noteEvents).toMatchObject({ kind: "DELETED", noteId: note.id, note: null });
    expect(api.noteEvents.stats.pdpCalls).toBe(hubCalls + 1);
  });

  it("sends nothing for a write rolled back after its notification, and the next committed write arrives", async () => {
    const { client } = await open(alice);
    const events = subscribe<NoteEventsResult>(client, NOTE_EVENTS, { workspaceId });
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    const note = await createNote(bob, "stable", workspaceId);
    expect((await events.next()).data!.noteEvents.kind).toBe("CREATED");

    const repository = new NoteRepository(api.dataSource);
    await expect(
      api.dataSource.transaction(async (m) => {
        const updated = await repository.update(m, note.id, { title: "never committed" }, null);
        await logNoteChange(m, "UPDATED", updated!);
        throw new Error("rolled back on purpose");
      }),
    ).rejects.toThrow("rolled back on purpose");
    await events.expectNothingFor(400);

    const committed = await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "committed" } }, bob);
    expect(committed.errors).toBeUndefined();
    const event = (await events.next()).data!.noteEvents;
    expect(event).toMatchObject({ kind: "UPDATED", version: 2, note: { title: "committed", version: 2 } });
  });
});

describe("resuming with after: a cursor from an event, a NoteChange or noteChangesHead", () => {
  type Event = NoteEventsResult["noteEvents"];
  const eventsOf = async (events: ReturnType<typeof subscribe<NoteEventsResult>>, count: number): Promise<Event[]> => {
    const received: Event[] = [];
    while (received.length < count) {
      const result = await events.next();
      expect(result.errors).toBeUndefined();
      received.push(result.data!.noteEvents);
    }
    return received;
  };

  it("replays what was missed, then goes live: every change once, in commit order, across the hand-over", async () => {
    const first = await open(alice);
    const live = subscribe<NoteEventsResult>(first.client, NOTE_EVENTS, { workspaceId });
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    const seen = await createNote(bob, "seen before going away", workspaceId);
    const [last] = await eventsOf(live, 1);
    expect(last!.noteId).toBe(seen.id);
    await first.dispose();
    await waitFor(() => api.noteEvents.subscriberCount === 0);

    // Written while the device is away.
    const missed = await createNote(bob, "missed", workspaceId);
    dataOf(await api.gql(UpdateNoteDocument, { id: missed.id, input: { title: "missed, edited" } }, bob));
    const elsewhere = await createNote(bob, "personal: not in the workspace");

    const { client } = await open(alice);
    const resumed = subscribe<NoteEventsResult>(client, NOTE_EVENTS, { workspaceId, after: last!.cursor });
    // Writes race the replay: each lands in the replay or in the live part, never in both or neither.
    const during = await Promise.all([1, 2, 3, 4, 5].map((i) => createNote(bob, `during the hand-over ${i}`, workspaceId)));
    const received = await eventsOf(resumed, 2 + during.length);
    // Each event carries the note as it is when delivered, with that version: a replayed CREATED already shows the edit.
    expect(received.slice(0, 2).map((e) => [e.kind, e.noteId, e.version, e.note?.title])).toEqual([
      ["CREATED", missed.id, 2, "missed, edited"],
      ["UPDATED", missed.id, 2, "missed, edited"],
    ]);
    expect(new Set(received.slice(2).map((e) => e.noteId))).toEqual(new Set(during.map((n) => n.id)));
    expect(received.map((e) => e.noteId)).not.toContain(elsewhere.id);
    expect(received.map((e) => e.noteId)).not.toContain(seen.id);
    await resumed.expectNothingFor(300);
    // Cursors grow along the stream: the last one resumes after everything received.
    const again = subscribe<NoteEventsResult>((await open(alice)).client, NOTE_EVENTS, { workspaceId, after: received.at(-1)!.cursor });
    await again.expectNothingFor(300);
    const next = await createNote(bob, "after the last cursor", workspaceId);
    expect((await again.next()).data!.noteEvents.noteId).toBe(next.id);
  });

  it("resumes from noteChangesHead and from a NoteChange's cursor; without after, starts at the head", async () => {
    const head = dataOf(await api.gql(NoteChangesHeadDocument, {}, alice)).noteChangesHead;
    const before = await createNote(bob, "before subscribing", workspaceId);
    const fromHead = subscribe<NoteEventsResult>((await open(alice)).client, NOTE_EVENTS, { workspaceId, after: head });
    expect((await fromHead.next()).data!.noteEvents).toMatchObject({ kind: "CREATED", noteId: before.id });

    const change = dataOf(await api.gql(NoteChangesDocument, { after: head, workspaceId }, alice)).noteChanges.changes[0]!;
    expect(change.noteId).toBe(before.id);
    const fromChange = subscribe<NoteEventsResult>((await open(alice)).client, NOTE_EVENTS, { workspaceId, after: change.cursor });
    const noAfter = subscribe<NoteEventsResult>((await open(alice)).client, NOTE_EVENTS, { workspaceId });
    await waitFor(() => api.noteEvents.subscriberCount === 3);
    const later = await createNote(bob, "after subscribing", workspaceId);
    expect((await fromChange.next()).data!.noteEvents.noteId).toBe(later.id);
    expect((await fromHead.next()).data!.noteEvents.noteId).toBe(later.id);
    // From the head: what was written before the subscription is not replayed.
    expect((await noAfter.next()).data!.noteEvents.noteId).toBe(later.id);
  });

  it("refuses another user's cursor and an altered one with BAD_USER_INPUT, one older than the retention with RESYNC_REQUIRED", async () => {
    const alices = dataOf(await api.gql(NoteChangesHeadDocument, {}, alice)).noteChangesHead;
    const codeOf = async (token: string, after: string) => {
      const result = await subscribe<NoteEventsResult>((await open(token)).client, NOTE_EVENTS, { after }).next();
      expect(result.data ?? null).toBeNull();
      return result.errors?.map((e) => e.extensions?.code);
    };
    expect(await codeOf(carol, alices)).toEqual(["BAD_USER_INPUT"]);
    expect(await codeOf(alice, `${alices.slice(0, -2)}${alices.endsWith("AA") ? "BB" : "AA"}`)).toEqual(["BAD_USER_INPUT"]);
    const own = subscribe<NoteEventsResult>((await open(alice)).client, NOTE_EVENTS, { after: alices });
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    const note = await createNote(bob, "for alice's own cursor");
    expect((await own.next()).data!.noteEvents.noteId).toBe(note.id);

    // Retention moved past alice's cursor (as the background trim does, here at once).
    await api.dataSource.query(`UPDATE note_changes_trimmed SET (tx, id) = (SELECT tx, id FROM note_changes ORDER BY tx DESC, id DESC LIMIT 1)`);
    expect(await codeOf(alice, alices)).toEqual(["RESYNC_REQUIRED"]);
  });
});
