/**
 * The WebSocket transport of subscriptions: authentication at ConnectionInit (Bearer or the
 * `hanko` cookie, as on HTTP), expiry while connected, the contract's close codes, and the
 * limits. After every breach the server keeps serving.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { importJWK, SignJWT, type JWK } from "jose";
import { CreateNoteDocument, MeDocument } from "../generated/graphql";
import { startTestApi, type TestApi } from "../support/api";
import { connect, NOTE_EVENTS, rawSocket, subscribe, waitFor, type NoteEventsResult, type WsConnection } from "../support/subscriptions";

const LISTED_ORIGIN = "https://app.example.com";
let api: TestApi;
let alice: string;
const logLines: string[] = [];
const connections: WsConnection[] = [];

const open = (token: string | null, headers?: Record<string, string>) => {
  const connection = connect(api.url, token, { headers });
  connections.push(connection);
  return connection;
};

beforeAll(async () => {
  api = await startTestApi({
    WS_MAX_SUBSCRIPTIONS_PER_CONNECTION: "2",
    WS_MAX_CONNECTIONS_PER_USER: "2",
    WS_MAX_MESSAGE_BYTES: "2048",
    WS_HANDSHAKE_TIMEOUT_MS: "400",
    CORS_ORIGINS: LISTED_ORIGIN,
    LOG_LEVEL: "warn",
  }, { logLines });
  alice = await api.token("alice@example.com");
  await api.gql(MeDocument, {}, alice);
});
afterEach(async () => {
  await Promise.all(connections.splice(0).map((c) => c.dispose()));
});
afterAll(() => api.stop());

/** The server still answers HTTP and opens subscriptions that deliver. */
async function expectServing() {
  expect((await api.gql(MeDocument, {}, alice)).data?.me.email).toBe("alice@example.com");
  const connection = open(alice);
  await connection.acknowledged;
  const events = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
  await waitFor(() => api.noteEvents.subscriberCount >= 1);
  const created = await api.gql(CreateNoteDocument, { input: { title: "still serving" } }, alice);
  expect((await events.next()).data!.noteEvents.noteId).toBe(created.data!.createNote.id);
  await connection.dispose();
}

describe("authentication at ConnectionInit", () => {
  it("acknowledges a Bearer token in the payload, and closes with 4401 without a token or with an invalid one", async () => {
    await expect(open(alice).acknowledged).resolves.toBeUndefined();
    await expect(open(null).closed).resolves.toMatchObject({ code: 4401 });
    await expect(open("not.a.token").closed).resolves.toMatchObject({ code: 4401 });
    await expect(open(`${alice.slice(0, -4)}AAAA`).closed).resolves.toMatchObject({ code: 4401 });
  });

  it("accepts the upgrade's hanko cookie from the API's own origin, and refuses a bad one with 4401", async () => {
    await expect(open(null, { cookie: `hanko=${alice}`, origin: api.url }).acknowledged).resolves.toBeUndefined();
    await expect(open(null, { cookie: "hanko=garbage", origin: api.url }).closed).resolves.toMatchObject({ code: 4401 });
  });

  it("closes with 4401 when the token expires, within the verifier's clock tolerance", async () => {
    const file = JSON.parse(await readFile(path.join(api.dataDir, "dev-hanko", "signing-key.json"), "utf8")) as { privateJwk: JWK };
    const now = Math.floor(Date.now() / 1000);
    const me = (await api.gql(MeDocument, {}, alice)).data!.me;
    // Expired 28 s ago: still inside the 30 s tolerance, so it is accepted and must be cut about 2 s from now.
    const exp = now - 28;
    const token = await new SignJWT({ session_id: crypto.randomUUID(), email: { address: me.email, is_primary: true, is_verified: true } })
      .setProtectedHeader({ alg: "RS256", kid: file.privateJwk.kid!, typ: "JWT" })
      .setSubject(me.id)
      .setAudience(["notes-api"])
      .setIssuedAt(now - 600)
      .setExpirationTime(exp)
      .sign(await importJWK(file.privateJwk, "RS256"));
    const connection = open(token);
    await connection.acknowledged;
    subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
    const closed = await connection.closed;
    const closedAt = Date.now();
    expect(closed.code).toBe(4401);
    expect(closedAt).toBeGreaterThanOrEqual((exp + 30) * 1000);
    expect(closedAt).toBeLessThan((exp + 30) * 1000 + 1500);
    await waitFor(() => api.noteEvents.subscriberCount === 0);
  });
});

describe("the hanko cookie over WebSocket: only from the API's own origin or a listed one", () => {
  const withCookie = (origin?: string) => ({ cookie: `hanko=${alice}`, ...(origin === undefined ? {} : { origin }) });

  it("refuses a foreign origin with the cookie with 4403 before any GraphQL message, and logs the origin", async () => {
    const connection = open(null, withCookie("https://evil.example"));
    await expect(connection.closed).resolves.toMatchObject({ code: 4403 });
    await expect(connection.acknowledged).rejects.toThrow(/4403/);
    const refusal = logLines.map((line) => JSON.parse(line) as { msg: string; origin?: string }).find((l) => l.origin === "https://evil.example");
    expect(refusal?.msg).toMatch(/cookie/);
  });

  it("refuses a sibling host and another port of the API's host, which are other origins", async () => {
    const own = new URL(api.url);
    for (const origin of [`http://evil.${own.hostname}.example`, `http://${own.hostname}:1`]) {
      await expect(open(null, withCookie(origin)).closed).resolves.toMatchObject({ code: 4403 });
    }
  });

  it("refuses the cookie without an Origin", async () => {
    await expect(open(null, withCookie()).closed).resolves.toMatchObject({ code: 4403 });
  });

  it("accepts a listed origin and the API's own origin (the explorer's) with the cookie", async () => {
    await expect(open(null, withCookie(LISTED_ORIGIN)).acknowledged).resolves.toBeUndefined();
    await expect(open(null, withCookie(api.url)).acknowledged).resolves.toBeUndefined();
  });

  it("accepts a payload token from a foreign origin or none: the client chose to send it", async () => {
    await expect(open(alice, { origin: "https://evil.example" }).acknowledged).resolves.toBeUndefined();
    await expect(open(alice).acknowledged).resolves.toBeUndefined();
  });

  it("lets the payload token decide when both come: an invalid one is 4401 even with a valid cookie", async () => {
    await expect(open("not.a.token", withCookie("https://evil.example")).closed).resolves.toMatchObject({ code: 4401 });
    await expect(open("not.a.token", withCookie(api.url)).closed).resolves.toMatchObject({ code: 4401 });
    // A valid payload token from a foreign origin is accepted whatever the cookie says.
    await expect(open(alice, { cookie: "hanko=garbage", origin: "https://evil.example" }).acknowledged).resolves.toBeUndefined();
  });

  it("runs a subscription as the cookie's owner from an accepted origin, and none from a refused one", async () => {
    const refused = open(null, withCookie("https://evil.example"));
    const events = subscribe<NoteEventsResult>(refused.client, NOTE_EVENTS);
    await expect(refused.closed).resolves.toMatchObject({ code: 4403 });
    expect(await events.ended).toEqual([expect.objectContaining({ code: 4403 })]);
    expect(events.results).toEqual([]);

    const accepted = open(null, withCookie(LISTED_ORIGIN));
    await accepted.acknowledged;
    const live = subscribe<NoteEventsResult>(accepted.client, NOTE_EVENTS);
    await waitFor(() => api.noteEvents.subscriberCount >= 1);
    const created = await api.gql(CreateNoteDocument, { input: { title: "seen through the cookie" } }, alice);
    expect((await live.next()).data!.noteEvents.noteId).toBe(created.data!.createNote.id);
  });
});

describe("protocol violations close with the contract's codes", () => {
  it("4400 for a ConnectionInit payload that is not an object (a string, an array)", async () => {
    for (const payload of ['"Bearer x"', "[1]", "42"]) {
      const { socket, closed } = await rawSocket(api.url);
      socket.send(`{"type":"connection_init","payload":${payload}}`);
      expect((await closed).code).toBe(4400);
    }
  });

  it("4400 for a malformed message, 4401 for Subscribe before ConnectionInit, 4429 for a second ConnectionInit", async () => {
    const malformed = await rawSocket(api.url);
    malformed.socket.send("{not json");
    expect((await malformed.closed).code).toBe(4400);

    const early = await rawSocket(api.url);
    early.socket.send(JSON.stringify({ id: "1", type: "subscribe", payload: { query: "subscription { noteEvents { kind } }" } }));
    expect((await early.closed).code).toBe(4401);

    const twice = await rawSocket(api.url);
    twice.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${alice}` } }));
    await waitFor(() => twice.messages.length > 0);
    expect(twice.messages[0]).toEqual({ type: "connection_ack" });
    twice.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${alice}` } }));
    expect((await twice.closed).code).toBe(4429);
    await expectServing();
  });

  it("4408 when no ConnectionInit comes within the handshake timeout; one in time is acknowledged", async () => {
    const silent = await rawSocket(api.url);
    const started = Date.now();
    expect((await silent.closed).code).toBe(4408);
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);

    const prompt = await rawSocket(api.url);
    prompt.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${alice}` } }));
    await waitFor(() => prompt.messages.length > 0);
    expect(prompt.messages[0]).toEqual({ type: "connection_ack" });
    prompt.socket.close();
  });

  it("1009 for a message over the size limit; one under it is handled", async () => {
    const big = await rawSocket(api.url);
    big.socket.send(JSON.stringify({ type: "connection_init", payload: { authorization: `Bearer ${alice}`, padding: "x".repeat(4096) } }));
    expect((await big.closed).code).toBe(1009);
    await expectServing();
  });
});

describe("limits", () => {
  it("answers a Subscribe over the per-connection limit with RATE_LIMITED and keeps the socket and the others open", async () => {
    const connection = open(alice);
    await connection.acknowledged;
    const first = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
    const second = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
    await waitFor(() => api.noteEvents.subscriberCount === 2);
    const third = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
    const refused = await third.ended;
    expect((refused as { extensions?: { code?: string } }[]).map((e) => e.extensions?.code)).toEqual(["RATE_LIMITED"]);

    const created = await api.gql(CreateNoteDocument, { input: { title: "after the refusal" } }, alice);
    for (const stream of [first, second]) expect((await stream.next()).data!.noteEvents.noteId).toBe(created.data!.createNote.id);
    // Once one ends, a new one fits.
    first.unsubscribe();
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
    await waitFor(() => api.noteEvents.subscriberCount === 2);
  });

  it("closes a user's connection over the per-user limit with 4403, while another user still connects", async () => {
    await open(alice).acknowledged;
    await open(alice).acknowledged;
    await expect(open(alice).closed).resolves.toMatchObject({ code: 4403 });
    const bob = await api.token("bob@example.com");
    await expect(open(bob).acknowledged).resolves.toBeUndefined();
    // A closed connection frees its place.
    await connections[0]!.dispose();
    await connections[0]!.closed;
    await new Promise((resolve) => setTimeout(resolve, 100));
    await expect(open(alice).acknowledged).resolves.toBeUndefined();
  });

  it("runs only subscriptions: a query over WebSocket is refused with BAD_REQUEST", async () => {
    const connection = open(alice);
    await connection.acknowledged;
    const query = subscribe(connection.client, "{ me { id } }");
    const refused = (await query.ended) as { extensions?: { code?: string } }[];
    expect(refused.map((e) => e.extensions?.code)).toEqual(["BAD_REQUEST"]);
  });
});
