/**
 * Paging through notes under a policy where most rows are unreadable (`user` reads only its
 * own notes): cursors reveal nothing, `hasNextPage` is exact, and every readable note shows
 * up once, in order. Cursors are refused when altered, foreign, or from another list.
 */
import { CreateNoteDocument, NotesDocument, type NotesQuery } from "../generated/graphql";
import { CursorCodec } from "../../src/common/cursor";
import { codes, startTestApi, type GraphQLResponse, type TestApi } from "../support/api";
import { permitAdmin } from "../support/permit";

let api: TestApi;
let reader: string;
let other: string;
const USER_SET = "__autogen_user";

beforeAll(async () => {
  api = await startTestApi();
  reader = await api.token("reader@example.com");
  other = await api.token("other@example.com");
  const permit = permitAdmin(api.permit);
  // `user` may read its own notes only.
  await permit.api.roles.removePermissions("user", ["notes:get"]);
  await permit.api.conditionSetRules.create({ user_set: USER_SET, permission: "notes:get", resource_set: "own_notes" });
});
afterAll(() => api.stop());

const create = async (token: string, title: string) => {
  const res = await api.gql(CreateNoteDocument, { input: { title } }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.createNote;
};

async function pageAll(token: string, first: number) {
  const pages: { ids: string[]; hasNextPage: boolean; endCursor: string | null; cursors: string[] }[] = [];
  let after: string | null = null;
  for (let i = 0; i < 100; i++) {
    const res: GraphQLResponse<NotesQuery> = await api.gql(NotesDocument, { first, after }, token);
    expect(res.errors).toBeUndefined();
    const { edges, pageInfo } = res.data!.notes;
    pages.push({ ids: edges.map((e) => e.node.id), hasNextPage: pageInfo.hasNextPage, endCursor: pageInfo.endCursor ?? null, cursors: edges.map((e) => e.cursor) });
    if (!pageInfo.hasNextPage) return pages;
    after = pageInfo.endCursor!;
  }
  throw new Error("more than 100 pages");
}

/** True when the cursor carries, in any plain form, a note id or creation time. */
function reveals(cursor: string, notes: { id: string; createdAt: string }[]): boolean {
  const bytes = Buffer.from(cursor, "base64url");
  const text = bytes.toString("utf8") + bytes.toString("latin1");
  return notes.some((n) => {
    const ms = new Date(n.createdAt).getTime();
    const msBytes = Buffer.alloc(8);
    msBytes.writeBigInt64BE(BigInt(ms));
    return (
      text.includes(n.id) ||
      text.includes(n.id.replace(/-/g, "")) ||
      text.includes(n.createdAt) ||
      text.includes(String(ms)) ||
      bytes.includes(Buffer.from(n.id.replace(/-/g, ""), "hex")) ||
      bytes.includes(msBytes)
    );
  });
}

describe("notes pagination when most rows are unreadable", () => {
  it("lists exactly the readable notes, in order, with exact hasNextPage and cursors that reveal nothing", async () => {
    const all: { id: string; createdAt: string; mine: boolean }[] = [];
    for (let i = 0; i < 40; i++) {
      const mine = i % 6 === 2;
      const note = await create(mine ? reader : other, `note ${i}`);
      all.push({ id: note.id, createdAt: note.createdAt, mine });
    }
    // Newest first; the readable set is every 6th note.
    const expected = all.filter((n) => n.mine).map((n) => n.id).reverse();
    expect(expected.length).toBe(7);
    for (const first of [1, 2, 3, 7, 8]) {
      const pages = await pageAll(reader, first);
      expect(pages.flatMap((p) => p.ids)).toEqual(expected);
      // hasNextPage is true exactly on the pages that a readable note follows.
      let seen = 0;
      for (const page of pages) {
        seen += page.ids.length;
        expect(page.hasNextPage).toBe(seen < expected.length);
        // Only the last page may be short.
        expect(page.hasNextPage ? page.ids.length : first).toBe(first);
      }
      for (const cursor of pages.flatMap((p) => [...p.cursors, ...(p.endCursor ? [p.endCursor] : [])])) {
        expect(reveals(cursor, all)).toBe(false);
      }
    }
    // Someone who may read none of them: no edge, no next page, and nothing in the cursor.
    const stranger = await api.token("stranger@example.com");
    const none = await api.gql(NotesDocument, { first: 5 }, stranger);
    expect(none.data!.notes.edges).toEqual([]);
    expect(none.data!.notes.pageInfo.hasNextPage).toBe(false);
    // The list plan (own notes only) gives no candidate at all, so there is no position to return.
    expect(none.data!.notes.pageInfo.endCursor ?? null).toBeNull();
  });

  it("says hasNextPage: false when only unreadable notes follow (the reported case)", async () => {
    const u0 = await api.token("u0@example.com");
    const u1 = await api.token("u1@example.com");
    await create(u0, "hidden 1");
    await create(u0, "hidden 2");
    const own = await create(u1, "visible");
    const res = await api.gql(NotesDocument, { first: 1 }, u1);
    expect(res.data!.notes.edges.map((e) => e.node.id)).toEqual([own.id]);
    expect(res.data!.notes.pageInfo.hasNextPage).toBe(false);
    // And with one more readable note further down, it is true.
    const older = await api.token("u2@example.com");
    await create(older, "older own");
    await create(u0, "hidden 3");
    await create(older, "newer own");
    const two = await api.gql(NotesDocument, { first: 1 }, older);
    expect(two.data!.notes.pageInfo.hasNextPage).toBe(true);
  });

  it("refuses altered, foreign and other lists' cursors as BAD_USER_INPUT", async () => {
    await create(reader, "mine a");
    await create(reader, "mine b");
    const page = await api.gql(NotesDocument, { first: 1 }, reader);
    const cursor = page.data!.notes.pageInfo.endCursor!;
    // The genuine cursor works.
    expect((await api.gql(NotesDocument, { first: 1, after: cursor }, reader)).errors).toBeUndefined();

    const bytes = Buffer.from(cursor, "base64url");
    const flips = [0, 12, 20, bytes.length - 1].map((i) => {
      const copy = Buffer.from(bytes);
      copy[i] = copy[i]! ^ 0x01;
      return copy.toString("base64url");
    });
    const [anyNote] = (await api.gql(NotesDocument, { first: 1 }, other)).data!.notes.edges;
    const readerId = (await api.dataSource.query(`SELECT id FROM users WHERE email = 'reader@example.com'`))[0].id as string;
    const foreignKey = new CursorCodec("another server's secret, 32 chars or more").encode(
      { createdAt: new Date(), id: anyNote!.node.id },
      { viewer: readerId, list: "notes:" },
    );
    const oldFormat = Buffer.from(`${new Date().toISOString()}|${anyNote!.node.id}`).toString("base64url");
    for (const bad of [...flips, foreignKey, oldFormat, "", " ", "not base64 !", cursor.slice(0, -2)]) {
      const res = await api.gql(NotesDocument, { first: 1, after: bad }, reader);
      expect(codes(res)).toEqual(["BAD_USER_INPUT"]);
      expect(res.errors![0]!.extensions!.field).toBe("after");
    }
    // Another caller's cursor is refused too.
    expect(codes(await api.gql(NotesDocument, { first: 1, after: cursor }, other))).toEqual(["BAD_USER_INPUT"]);
  });
});
