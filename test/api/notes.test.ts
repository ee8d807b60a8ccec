import {
  CreateNoteDocument,
  DeleteNoteDocument,
  NoteDocument,
  NotesDocument,
  UpdateNoteDocument,
} from "../generated/graphql";
import { parse } from "graphql";
import { codes, startTestApi, type GraphQLResponse, type TestApi } from "../support/api";

let api: TestApi;
let alice: string;

beforeAll(async () => {
  api = await startTestApi();
  alice = await api.token("alice@example.com");
});
afterAll(() => api.stop());

const create = async (title: string, token = alice, body?: string) => {
  const res = await api.gql(CreateNoteDocument, { input: { title, body } }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.createNote;
};

describe("notes CRUD over HTTP", () => {
  it("creates a note owned by the caller, trimmed, at version 1", async () => {
    const note = await create("  Groceries  ", alice, "milk");
    expect(note.title).toBe("Groceries");
    expect(note.body).toBe("milk");
    expect(note.version).toBe(1);
    expect(note.owner.email).toBe("alice@example.com");
    expect(note.workspace).toBeNull();
    expect(new Date(note.createdAt).getTime()).toBeGreaterThan(Date.now() - 60_000);
  });

  it("defaults the body to an empty string", async () => {
    expect((await create("no body")).body).toBe("");
  });

  it("reads a note back and answers NOT_FOUND for an unknown id", async () => {
    const note = await create("read me");
    const found = await api.gql(NoteDocument, { id: note.id }, alice);
    expect(found.data?.note?.title).toBe("read me");
    const missing = await api.gql(NoteDocument, { id: "00000000-0000-4000-8000-000000000000" }, alice);
    expect(codes(missing)).toEqual(["NOT_FOUND"]);
    expect(missing.data?.note ?? null).toBeNull();
  });

  it("updates title and body, bumping the version and updatedAt", async () => {
    const note = await create("draft");
    const res = await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "final", body: "text" } }, alice);
    expect(res.errors).toBeUndefined();
    expect(res.data!.updateNote).toMatchObject({ title: "final", body: "text", version: 2 });
    expect(new Date(res.data!.updateNote.updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(note.updatedAt).getTime());
  });

  it("answers CONFLICT for a stale expectedVersion and changes nothing", async () => {
    const note = await create("v1");
    const ok = await api.gql(UpdateNoteDocument, { id: note.id, input: { body: "a", expectedVersion: 1 } }, alice);
    expect(ok.data?.updateNote.version).toBe(2);
    const stale = await api.gql(UpdateNoteDocument, { id: note.id, input: { body: "b", expectedVersion: 1 } }, alice);
    expect(codes(stale)).toEqual(["CONFLICT"]);
    expect(stale.errors![0]!.extensions!.currentVersion).toBe(2);
    const after = await api.gql(NoteDocument, { id: note.id }, alice);
    expect(after.data?.note).toMatchObject({ body: "a", version: 2 });
  });

  it("deletes a note, after which it is NOT_FOUND (and a second delete too)", async () => {
    const note = await create("to delete");
    const res = await api.gql(DeleteNoteDocument, { id: note.id }, alice);
    expect(res.data?.deleteNote).toBe(note.id);
    expect(codes(await api.gql(NoteDocument, { id: note.id }, alice))).toEqual(["NOT_FOUND"]);
    expect(codes(await api.gql(DeleteNoteDocument, { id: note.id }, alice))).toEqual(["NOT_FOUND"]);
  });
});

describe("input validation", () => {
  it.each([
    ["an empty title", { title: "" }, "title"],
    ["a blank title", { title: "   " }, "title"],
    ["a title over 200 characters", { title: "x".repeat(201) }, "title"],
    ["a body over 100000 characters", { title: "ok", body: "x".repeat(100_001) }, "body"],
    ["a malformed workspace id", { title: "ok", workspaceId: "nope" }, "workspaceId"],
  ])("refuses %s with BAD_USER_INPUT naming the field", async (_label, input, field) => {
    const res = await api.gql(CreateNoteDocument, { input }, alice);
    expect(codes(res)).toEqual(["BAD_USER_INPUT"]);
    expect(res.errors![0]!.extensions!.field).toBe(field);
  });

  it("accepts the limits exactly (200-character title, 100000-character body)", async () => {
    const note = await create("t".repeat(200), alice, "b".repeat(100_000));
    expect(note.title).toHaveLength(200);
    expect(note.body).toHaveLength(100_000);
  });

  it("refuses a malformed id, an empty update and a bad page size, losing nothing", async () => {
    const note = await create("keep me");
    expect(codes(await api.gql(NoteDocument, { id: "42" }, alice))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await api.gql(UpdateNoteDocument, { id: note.id, input: {} }, alice))).toEqual(["BAD_USER_INPUT"]);
    expect(codes(await api.gql(UpdateNoteDocument, { id: note.id, input: { title: " " } }, alice))).toEqual(["BAD_USER_INPUT"]);
    for (const first of [0, -1, 101]) {
      expect(codes(await api.gql(NotesDocument, { first }, alice))).toEqual(["BAD_USER_INPUT"]);
    }
    expect(codes(await api.gql(NotesDocument, { first: 5, after: "garbage" }, alice))).toEqual(["BAD_USER_INPUT"]);
    const after = await api.gql(NoteDocument, { id: note.id }, alice);
    expect(after.data?.note).toMatchObject({ title: "keep me", version: 1 });
  });

  it("answers a wrongly typed variable as a client error, not an internal one", async () => {
    const res = await api.gql(NotesDocument, { first: "ten" as unknown as number }, alice);
    expect(res.status).toBe(400);
    expect(codes(res)).toEqual(["BAD_USER_INPUT"]);
  });
});

describe("pagination", () => {
  it("walks every note newest first, each exactly once, for several page sizes", async () => {
    const bob = await api.token("bob.pages@example.com");
    // Notes are visible to every user (role `user` may get notes), so compare against the full list.
    for (let i = 0; i < 12; i++) await create(`page ${i}`, bob);
    const all: string[] = [];
    let after: string | null | undefined;
    do {
      const res = await api.gql(NotesDocument, { first: 100, after }, bob);
      all.push(...res.data!.notes.edges.map((e) => e.node.id));
      after = res.data!.notes.pageInfo.hasNextPage ? res.data!.notes.pageInfo.endCursor : null;
    } while (after);
    expect(new Set(all).size).toBe(all.length);

    for (const size of [1, 2, 5, 7]) {
      const seen: string[] = [];
      let cursor: string | null | undefined;
      for (let pages = 0; pages < 200; pages++) {
        const res = await api.gql(NotesDocument, { first: size, after: cursor }, bob);
        expect(res.errors).toBeUndefined();
        const edges = res.data!.notes.edges;
        expect(edges.length).toBeLessThanOrEqual(size);
        seen.push(...edges.map((e) => e.node.id));
        if (!res.data!.notes.pageInfo.hasNextPage) break;
        cursor = res.data!.notes.pageInfo.endCursor;
      }
      expect(seen).toEqual(all);
    }
  });

  it("orders by createdAt desc then id desc", async () => {
    const res = await api.gql(NotesDocument, { first: 100 }, alice);
    const ids = res.data!.notes.edges.map((e) => e.node.id);
    const newest = await create("newest");
    const again = await api.gql(NotesDocument, { first: 1 }, alice);
    expect(again.data!.notes.edges[0]!.node.id).toBe(newest.id);
    expect(ids).not.toContain(newest.id);
  });
});

describe("list pages read note bodies only when they are selected", () => {
  const page = (selection: string, fragments = "") => parse(`query { notes(first: 100) { edges { node { id ${selection} } } } } ${fragments}`);
  const bodiesOf = (res: GraphQLResponse<unknown>): Map<string, unknown> =>
    new Map((res.data as { notes: { edges: { node: { id: string } & Record<string, unknown> }[] } }).notes.edges.map((e) => [e.node.id, e.node]));

  /** The SQL text of every query the API sends while `run` runs. */
  async function queriesDuring(run: () => Promise<unknown>): Promise<string[]> {
    const original = api.dataSource.query.bind(api.dataSource);
    const seen: string[] = [];
    const spy = jest.spyOn(api.dataSource, "query").mockImplementation((sql: string, ...rest: unknown[]) => {
      seen.push(sql);
      return original(sql, ...(rest as [unknown[]]));
    });
    try {
      await run();
    } finally {
      spy.mockRestore();
    }
    return seen;
  }

  let reader: string;
  const written = new Map<string, string>();
  beforeAll(async () => {
    reader = await api.token("body.reader@example.com");
    for (let i = 0; i < 3; i++) {
      const note = await create(`bodies ${i}`, reader, `body number ${i} `.repeat(50 + i));
      written.set(note.id, note.body);
    }
  });

  it.each([
    ["directly", page("body")],
    ["under an alias", page("text: body")],
    ["through a named fragment", page("...NoteText", "fragment NoteText on Note { body }")],
    ["through an inline fragment", page("... on Note { body }")],
  ])("returns every body a page selects %s", async (_, document) => {
    const res = await api.gql(document, {}, reader);
    expect(res.errors).toBeUndefined();
    const nodes = bodiesOf(res);
    for (const [id, body] of written) expect(Object.values(nodes.get(id) as object)).toContain(body);
  });

  it("reads the bodies for a page that selects them, and leaves them in the database for one that does not", async () => {
    const scans = (sql: string[]) => sql.filter((q) => /FROM notes n\b/.test(q));
    const withBodies = scans(await queriesDuring(() => api.gql(page("title body"), {}, reader)));
    const without = scans(await queriesDuring(() => api.gql(page("title updatedAt viewerCan { put }"), {}, reader)));
    expect(withBodies.length).toBeGreaterThan(0);
    expect(withBodies.every((q) => q.includes("n.body"))).toBe(true);
    expect(without.length).toBeGreaterThan(0);
    expect(without.some((q) => q.includes("n.body"))).toBe(false);
  });

  it("answers a note's body whole in the request of a page that read none", async () => {
    const [id, body] = [...written][0]!;
    const res = await api.gql(parse(`query($id: ID!) { notes(first: 100) { edges { node { id title } } } note(id: $id) { body } }`), { id }, reader);
    expect(res.errors).toBeUndefined();
    expect((res.data as { note: { body: string } }).note.body).toBe(body);
    expect(bodiesOf(res).get(id)).toEqual({ id, title: expect.stringMatching(/^bodies /) });
  });
});
