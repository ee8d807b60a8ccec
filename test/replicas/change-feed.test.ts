/**
 * The change feed across two real API processes on one database: NOTIFY is only a wake-up, so
 * a replica whose LISTEN connection is killed (pg_terminate_backend) while writes go on still
 * delivers every change once, in order; and a cursor a device got from replica A resumes on
 * replica B with exactly what it missed.
 */
import { startReplicas, type ReplicaSet } from "../support/replicas";
import { connect, subscribe, type Subscription, type WsConnection } from "../support/subscriptions";

jest.setTimeout(180_000);

let set: ReplicaSet;
const connections: WsConnection[] = [];

beforeAll(async () => {
  set = await startReplicas();
}, 120_000);
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.dispose()));
});
afterAll(() => set?.stop());

interface Event {
  kind: string;
  noteId: string;
  version: number;
  cursor: string;
}
const EVENTS = `subscription ($after: String) { noteEvents(after: $after) { kind noteId version cursor } }`;
const CREATE_NOTE = `mutation($title: String!) { createNote(input: { title: $title }) { id } }`;
const UPDATE_NOTE = `mutation($id: ID!, $title: String!) { updateNote(id: $id, input: { title: $title }) { version } }`;

async function signIn(email: string): Promise<string> {
  const token = await set.token(email);
  for (const replica of [set.a, set.b]) {
    const res = await replica.gql(`{ me { id } }`, {}, token);
    if (res.errors) throw new Error(`sign-in on ${replica.name}: ${JSON.stringify(res.errors)}`);
  }
  return token;
}

async function listenOn(url: string, token: string, after?: string): Promise<Subscription<{ noteEvents: Event }>> {
  const connection = connect(url, token);
  connections.push(connection);
  await connection.acknowledged;
  return subscribe<{ noteEvents: Event }>(connection.client, EVENTS, after ? { after } : {});
}

async function take(events: Subscription<{ noteEvents: Event }>, count: number, timeoutMs = 15_000): Promise<Event[]> {
  const received: Event[] = [];
  while (received.length < count) {
    const result = await events.next(timeoutMs);
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    received.push(result.data!.noteEvents);
  }
  return received;
}

const create = async (token: string, title: string) => {
  const res = await set.b.gql(CREATE_NOTE, { title }, token);
  if (res.errors) throw new Error(JSON.stringify(res.errors));
  return (res.data as { createNote: { id: string } }).createNote.id;
};

/** The LISTEN connections of both replicas (each is a dedicated backend whose last statement was LISTEN). */
const listeners = () => set.sql<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query ILIKE 'LISTEN %' AND pid <> pg_backend_pid()`);

it("delivers every change once, in order, while the subscriber's replica loses its LISTEN connection", async () => {
  const alice = await signIn("alice@example.com");
  const bob = await signIn("bob@example.com");
  const head = ((await set.a.gql(`{ noteChangesHead }`, {}, alice)).data as { noteChangesHead: string }).noteChangesHead;
  // From the head: nothing written from here on can fall before the subscription starts.
  const events = await listenOn(set.a.url, alice, head);
  const everyListener = (await listeners()).length;
  expect(everyListener).toBeGreaterThanOrEqual(2);
  const allBack = async () => {
    const deadline = Date.now() + 15_000;
    while ((await listeners()).length < everyListener) {
      if (Date.now() > deadline) throw new Error("the listeners did not reconnect");
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  const written: string[] = [];
  for (let round = 0; round < 3; round++) {
    await allBack();
    // Cut every listener (A's and B's), then write while they reconnect with backoff.
    const pids = await listeners();
    expect(pids).toHaveLength(everyListener);
    for (const { pid } of pids) await set.sql(`SELECT pg_terminate_backend($1)`, [pid]);
    for (let i = 0; i < 10; i++) written.push(await create(bob, `round ${round}, write ${i}`));
  }
  const received = await take(events, written.length);
  expect(received.map((e) => [e.kind, e.noteId])).toEqual(written.map((id) => ["CREATED", id]));
  await events.expectNothingFor(500);
  // They came back: NOTIFY is a wake-up again once they have.
  await allBack();
  expect(set.a.log()).toMatch(/notification listener lost its connection/);
});

it("resumes on replica B with the cursor a device got from replica A: what it missed, then live, nothing twice", async () => {
  const carol = await signIn("carol@example.com");
  const dave = await signIn("dave@example.com");
  const onA = await listenOn(set.a.url, carol);
  // The protocol does not acknowledge a Subscribe: write until A has delivered one.
  let last: Event | undefined;
  for (let attempt = 0; attempt < 50 && !last; attempt++) {
    await create(dave, `seen on A ${attempt}`);
    last = await onA.next(200).then((r) => r.data!.noteEvents, () => undefined);
  }
  expect(last).toBeDefined();
  // Drain what A sent while the first one was on its way, then go offline.
  while (await onA.next(300).then(() => true, () => false));
  last = onA.results.at(-1)!.data!.noteEvents;
  await Promise.all(connections.splice(0).map((c) => c.dispose()));

  const missed = [await create(dave, "missed 1"), await create(dave, "missed 2")];
  const edited = await set.a.gql(UPDATE_NOTE, { id: missed[0], title: "missed 1, edited on A" }, dave);
  expect(edited.errors).toBeUndefined();

  const onB = await listenOn(set.b.url, carol, last.cursor);
  const replayed = await take(onB, 3);
  expect(replayed.map((e) => [e.kind, e.noteId])).toEqual([
    ["CREATED", missed[0]],
    ["CREATED", missed[1]],
    ["UPDATED", missed[0]],
  ]);
  const liveId = await create(dave, "live on B");
  expect((await take(onB, 1))[0]).toMatchObject({ kind: "CREATED", noteId: liveId });
  await onB.expectNothingFor(500);

  // A cursor is the caller's own on every replica: dave cannot resume from carol's.
  const foreign = await listenOn(set.b.url, dave, last.cursor);
  const refused = await foreign.next();
  expect(refused.errors?.map((e) => (e as { extensions?: { code?: string } }).extensions?.code)).toEqual(["BAD_USER_INPUT"]);
});
