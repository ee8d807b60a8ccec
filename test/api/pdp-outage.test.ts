/**
 * Fail closed: with the PDP unreachable or hanging, requests answer AUTHZ_UNAVAILABLE within
 * the configured timeout — never an allow, never a silent FORBIDDEN/NOT_FOUND — and the
 * next request after the outage works again.
 */
import { CreateNoteDocument, MeDocument, NoteDocument, NotesDocument } from "../generated/graphql";
import { codes, type TestApi } from "../support/api";
import { startApiBehindProxy, type ApiBehindProxy } from "../support/policy-pdp";
import type { TcpProxy } from "../support/tcp-proxy";

const API_KEY = "test_outage_key";
const TIMEOUT_MS = 800;
let setup: ApiBehindProxy;
let proxy: TcpProxy;
let api: TestApi;
let alice: string;

beforeAll(async () => {
  setup = await startApiBehindProxy(API_KEY, { PERMIT_TIMEOUT_MS: String(TIMEOUT_MS) });
  ({ proxy, api } = setup);
  alice = await api.token("alice.outage@example.com");
  // Sign alice in (and sync her) while the PDP is reachable.
  const me = await api.gql(MeDocument, {}, alice);
  if (me.errors) throw new Error(`sign-in failed: ${JSON.stringify(me.errors)}`);
});
afterAll(() => setup.stop());
afterEach(() => {
  proxy.mode = "forward";
});

describe.each(["refuse", "hang"] as const)("PDP %s", (mode) => {
  it("a read answers AUTHZ_UNAVAILABLE within the timeout, with no data", async () => {
    const note = (await api.gql(CreateNoteDocument, { input: { title: `before ${mode}` } }, alice)).data!.createNote;
    proxy.mode = mode;
    const started = Date.now();
    const res = await api.gql(NoteDocument, { id: note.id }, alice);
    const elapsed = Date.now() - started;
    expect(codes(res)).toEqual(["AUTHZ_UNAVAILABLE"]);
    expect(res.data?.note ?? null).toBeNull();
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 1500);
  });

  it("a list answers AUTHZ_UNAVAILABLE rather than an empty or partial page", async () => {
    await api.gql(CreateNoteDocument, { input: { title: `listed ${mode}` } }, alice);
    proxy.mode = mode;
    const res = await api.gql(NotesDocument, { first: 5 }, alice);
    expect(codes(res)).toEqual(["AUTHZ_UNAVAILABLE"]);
    expect(res.data?.notes ?? null).toBeNull();
  });

  it("a write is not performed", async () => {
    proxy.mode = mode;
    const res = await api.gql(CreateNoteDocument, { input: { title: `during ${mode}` } }, alice);
    expect(codes(res)).toEqual(["AUTHZ_UNAVAILABLE"]);
    proxy.mode = "forward";
    const list = await api.gql(NotesDocument, { first: 100 }, alice);
    expect(list.data!.notes.edges.map((e) => e.node.title)).not.toContain(`during ${mode}`);
  });

  it("recovers on the next request once the PDP is back", async () => {
    proxy.mode = mode;
    expect(codes(await api.gql(NotesDocument, { first: 1 }, alice))).toEqual(["AUTHZ_UNAVAILABLE"]);
    proxy.mode = "forward";
    expect((await api.gql(NotesDocument, { first: 1 }, alice)).errors).toBeUndefined();
  });
});

it("a new user's first request during an outage answers AUTHZ_UNAVAILABLE (503) and syncs on the next one", async () => {
  const token = await api.token("late.sync@example.com");
  proxy.mode = "refuse";
  const down = await api.gql(MeDocument, {}, token);
  expect(down.status).toBe(503);
  expect(codes(down)).toEqual(["AUTHZ_UNAVAILABLE"]);
  proxy.mode = "forward";
  expect((await api.gql(MeDocument, {}, token)).data?.me.roles).toEqual(["user"]);
});
