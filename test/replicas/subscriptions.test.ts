/**
 * Live events across replicas: a change written through replica B reaches a subscriber
 * connected to replica A (PostgreSQL NOTIFY from B's transaction, decided by A for its own
 * subscribers), and one whose note the subscriber may not read does not.
 */
import { startReplicas, type ReplicaSet } from "../support/replicas";
import { connect, NOTE_EVENTS, subscribe, type NoteEventsResult, type WsConnection } from "../support/subscriptions";

jest.setTimeout(120_000);

let set: ReplicaSet;
const connections: WsConnection[] = [];

beforeAll(async () => {
  set = await startReplicas();
}, 120_000);
afterAll(async () => {
  await Promise.all(connections.map((c) => c.dispose()));
  await set?.stop();
});

const CREATE_NOTE = `mutation($title: String!) { createNote(input: { title: $title }) { id } }`;
const UPDATE_NOTE = `mutation($id: ID!, $title: String!) { updateNote(id: $id, input: { title: $title }) { id version } }`;
const DELETE_NOTE = `mutation($id: ID!) { deleteNote(id: $id) }`;

async function signIn(email: string): Promise<string> {
  const token = await set.token(email);
  for (const replica of [set.a, set.b]) {
    const res = await replica.gql(`{ me { id } }`, {}, token);
    if (res.errors) throw new Error(`sign-in on ${replica.name}: ${JSON.stringify(res.errors)}`);
  }
  return token;
}

it("delivers a change written through replica B to a subscriber on replica A, with its version", async () => {
  const alice = await signIn("alice@example.com");
  const bob = await signIn("bob@example.com");
  const connection = connect(set.a.url, alice);
  connections.push(connection);
  await connection.acknowledged;
  const events = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);

  // The protocol does not acknowledge a Subscribe: write through B until A has delivered one.
  const written: string[] = [];
  let first: NoteEventsResult["noteEvents"] | undefined;
  for (let attempt = 0; attempt < 50 && !first; attempt++) {
    const res = await set.b.gql(CREATE_NOTE, { title: `from B ${attempt}` }, bob);
    written.push((res.data as { createNote: { id: string } }).createNote.id);
    first = await events.next(200).then((r) => r.data!.noteEvents, () => undefined);
  }
  expect(first).toBeDefined();
  expect(written).toContain(first!.noteId);
  expect(first!.kind).toBe("CREATED");

  // Now that the subscription is live, every later write through B arrives, in order.
  const id = written.at(-1)!;
  const updated = await set.b.gql(UPDATE_NOTE, { id, title: "edited through B" }, bob);
  expect(updated.errors).toBeUndefined();
  let event = (await events.next(5000)).data!.noteEvents;
  // Creations written while the first event was on its way come first.
  while (event.kind === "CREATED") event = (await events.next(5000)).data!.noteEvents;
  expect(event).toMatchObject({ kind: "UPDATED", noteId: id, version: 2, note: { title: "edited through B", version: 2 } });

  // A deletion through B: B decides its readers among the subscribers of every replica (A's
  // alice included, from the shared registry) before deleting; A delivers it as decided.
  const deleted = await set.b.gql(DELETE_NOTE, { id }, bob);
  expect(deleted.errors).toBeUndefined();
  expect((await events.next(5000)).data!.noteEvents).toMatchObject({ kind: "DELETED", noteId: id, version: 2, note: null });
});

it("does not deliver across replicas what the subscriber may not read", async () => {
  const carol = await signIn("carol@example.com");
  const dave = await signIn("dave@example.com");
  // dave may read nothing (no tenant role); carol's writes must not reach him, on either replica.
  await set.permit.api.users.unassignRole({ user: set.userIdFor("dave@example.com"), role: "user", tenant: "default" });
  const daveOnA = connect(set.a.url, dave);
  const carolOnA = connect(set.a.url, carol);
  connections.push(daveOnA, carolOnA);
  await Promise.all([daveOnA.acknowledged, carolOnA.acknowledged]);
  const daveEvents = subscribe<NoteEventsResult>(daveOnA.client, NOTE_EVENTS);
  const carolEvents = subscribe<NoteEventsResult>(carolOnA.client, NOTE_EVENTS);
  let delivered = false;
  for (let attempt = 0; attempt < 50 && !delivered; attempt++) {
    await set.b.gql(CREATE_NOTE, { title: `carol ${attempt}` }, carol);
    delivered = await carolEvents.next(200).then(() => true, () => false);
  }
  expect(delivered).toBe(true);
  // Nor a deletion, which B decides for A's subscribers.
  const last = (await set.b.gql(CREATE_NOTE, { title: "carol, to delete" }, carol)).data as { createNote: { id: string } };
  await set.b.gql(DELETE_NOTE, { id: last.createNote.id }, carol);
  let deletion: NoteEventsResult["noteEvents"] | undefined;
  while (!deletion) {
    const e = (await carolEvents.next(5000)).data!.noteEvents;
    if (e.kind === "DELETED") deletion = e;
  }
  expect(deletion.noteId).toBe(last.createNote.id);
  await daveEvents.expectNothingFor(500);
  expect(daveEvents.results).toEqual([]);
});
