/**
 * Live note events end to end: a real WebSocket client (graphql-ws) against the real server,
 * events announced by PostgreSQL NOTIFY from the write transactions, each decided by the local
 * PDP through the permitio SDK. Default policy here (every user may `get` every note); the
 * restrictive cases are in subscriptions-policy.test.ts.
 */
import type { Permit } from "permitio";
import { CreateNoteDocument, CreateWorkspaceDocument, DeleteNoteDocument, MeDocument, ShareWorkspaceDocument, UpdateNoteDocument } from "../generated/graphql";
import { logNoteChange } from "../../src/changes/change-log";
import { NoteRepository } from "../../src/notes/note.repository";
import { dataOf, startTestApi, type TestApi } from "../support/api";
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
