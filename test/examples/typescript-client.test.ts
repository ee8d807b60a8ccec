/**
 * Runs the example client (examples/typescript-client) against the real API, once sending
 * document text to a server without a safelist, once sending ids to a server that runs only
 * the example's trusted-documents.json.
 */
import path from "node:path";
import { ApiError, createClient, createLiveClient, signInWithDevIssuer } from "../../examples/typescript-client/src/client";
import { CreateNoteMutation, DeleteNoteMutation, MeQuery, NoteEventsSubscription, UpdateNoteMutation } from "../../examples/typescript-client/src/operations";
import { errorCode, walkthrough } from "../../examples/typescript-client/src/walkthrough";
import { startTestApi, type TestApi } from "../support/api";

const MANIFEST = path.resolve(__dirname, "../../examples/typescript-client/trusted-documents.json");

describe.each([
  { send: "text" as const, env: {} as Record<string, string> },
  { send: "id" as const, env: { TRUSTED_DOCUMENTS: MANIFEST } },
])("the example client sending $send", ({ send, env }) => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi(env);
  });
  afterAll(() => api.stop());

  it("signs in with the dev issuer and runs me, createNote, notes, updateNote and deleteNote", async () => {
    const result = await walkthrough({ url: api.url, email: "alice@example.com", send });

    expect(result.me.email).toBe("alice@example.com");
    expect(result.me.roles).toContain("user");
    expect(result.created).toMatchObject({ title: "Hello", body: "first note", version: 1 });
    expect(result.listed).toContainEqual({ id: result.created.id, title: "Hello", version: 1, viewerCan: { put: true, delete: true } });
    expect(result.updated).toMatchObject({ id: result.created.id, body: "edited", version: 2 });
    expect(result.staleUpdate).toBe("CONFLICT");
    expect(result.deletedId).toBe(result.created.id);
    expect(result.anonymous).toBe("UNAUTHENTICATED");
    // Over WebSocket: the changes to the note arrived live, ending with its deletion (the
    // subscription may go live just after the creation: the protocol does not say when it is).
    const kinds = result.liveEvents.map((e) => e.kind);
    expect(kinds.slice(-2)).toEqual(["UPDATED", "DELETED"]);
    expect(result.liveEvents.slice(-2).map((e) => e.version)).toEqual([2, 2]);
    expect(kinds.filter((k) => k !== "UPDATED" && k !== "DELETED")).toEqual(kinds.length === 3 ? ["CREATED"] : []);
    expect(result.liveErrors).toEqual([]);
  });

  it("surfaces a denial by its code: another user can neither change nor delete the note", async () => {
    const alice = createClient({ url: api.url, token: await signInWithDevIssuer(api.url, "alice@example.com"), send });
    const bob = createClient({ url: api.url, token: await signInWithDevIssuer(api.url, "bob@example.com"), send });
    const { createNote: note } = await alice(CreateNoteMutation, { input: { title: "alice's" } });

    await expect(bob(UpdateNoteMutation, { id: note.id, input: { title: "bob's now" } })).rejects.toEqual(expect.any(ApiError));
    expect(await errorCode(bob(UpdateNoteMutation, { id: note.id, input: { title: "bob's now" } }))).toBe("FORBIDDEN");
    expect(await errorCode(bob(DeleteNoteMutation, { id: note.id }))).toBe("FORBIDDEN");
    // Still there, unchanged, for its owner.
    const { updateNote: mine } = await alice(UpdateNoteMutation, { id: note.id, input: { body: "mine", expectedVersion: 1 } });
    expect(mine).toMatchObject({ title: "alice's", version: 2 });
  });
});

describe("the example client against a server with TRUSTED_DOCUMENTS", () => {
  let api: TestApi;

  beforeAll(async () => {
    api = await startTestApi({ TRUSTED_DOCUMENTS: MANIFEST });
  });
  afterAll(() => api.stop());

  it("is refused when it sends text other than the manifest's", async () => {
    const token = await signInWithDevIssuer(api.url, "carol@example.com");
    const code = await errorCode(createClient({ url: api.url, token, send: "text" })(MeQuery, {}));
    expect(code).toBe("UNTRUSTED_DOCUMENT");
  });

  it("refuses a subscription whose text is not the manifest's, and runs it by id", async () => {
    const token = await signInWithDevIssuer(api.url, "carol@example.com");
    const refused = createLiveClient({ url: api.url, token, send: "text" });
    const code = await new Promise<string>((resolve) => refused.subscribe(NoteEventsSubscription, {}, () => resolve("event"), (error) => resolve(error.code)));
    expect(code).toBe("UNTRUSTED_DOCUMENT");
    await refused.close();

    const live = createLiveClient({ url: api.url, token, send: "id" });
    const seen: string[] = [];
    const stop = live.subscribe(NoteEventsSubscription, {}, ({ noteEvents }) => seen.push(noteEvents.noteId));
    const run = createClient({ url: api.url, token, send: "id" });
    // The protocol does not acknowledge a Subscribe: write until the subscription has delivered one.
    const written: string[] = [];
    for (let i = 0; i < 50 && seen.length === 0; i++) {
      written.push((await run(CreateNoteMutation, { input: { title: `by id ${i}` } })).createNote.id);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(seen.length).toBeGreaterThan(0);
    expect(written).toEqual(expect.arrayContaining(seen));
    stop();
    await live.close();
  });
});
