/**
 * Every string argument of the contract refuses what it cannot store or resolve — NUL
 * characters, lone surrogates, empty or blank ids — with BAD_USER_INPUT naming the field,
 * and nothing is written.
 */
import { parse } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { CreateWorkspaceDocument, MeDocument } from "../generated/graphql";
import { codes, startTestApi, type TestApi } from "../support/api";
import { permitAdmin } from "../support/permit";

let api: TestApi;
let owner: string;
let workspaceId: string;
let noteId: string;
let ownerId: string;

const op = (text: string) => parse(text) as TypedDocumentNode<Record<string, unknown>, Record<string, unknown>>;

beforeAll(async () => {
  api = await startTestApi();
  owner = await api.token("owner@example.com");
  await api.token("member@example.com").then((t) => api.gql(MeDocument, {}, t));
  ownerId = (await api.gql(MeDocument, {}, owner)).data!.me.id;
  await permitAdmin(api.permit).api.users.update(ownerId, { attributes: { plan: "premium" } });
  workspaceId = (await api.gql(CreateWorkspaceDocument, { input: { name: "inputs" } }, owner)).data!.createWorkspace.id;
  const note = await api.gql(op(`mutation { createNote(input: { title: "existing" }) { id } }`), {}, owner);
  noteId = (note.data!.createNote as { id: string }).id;
});
afterAll(() => api.stop());

const counts = async () =>
  (await api.dataSource.query(
    `SELECT (SELECT count(*) FROM notes)::int AS notes, (SELECT count(*) FROM workspaces)::int AS workspaces,
            (SELECT count(*) FROM workspace_members)::int AS members, (SELECT string_agg(title || body, '|' ORDER BY id) FROM notes) AS texts`,
  ))[0];

const NUL = "a\u0000b";
const LONE_SURROGATE = "a\ud800b";

/** [label, operation, variables, field named in the error] */
const cases = (): [string, string, Record<string, unknown>, string][] => [
  ...[NUL, LONE_SURROGATE].flatMap((bad): [string, string, Record<string, unknown>, string][] => [
    [`createNote title ${JSON.stringify(bad)}`, `mutation($v: String!) { createNote(input: { title: $v }) { id } }`, { v: bad }, "title"],
    [`createNote body ${JSON.stringify(bad)}`, `mutation($v: String!) { createNote(input: { title: "t", body: $v }) { id } }`, { v: bad }, "body"],
    [`updateNote title ${JSON.stringify(bad)}`, `mutation($id: ID!, $v: String!) { updateNote(id: $id, input: { title: $v }) { id } }`, { id: noteId, v: bad }, "title"],
    [`updateNote body ${JSON.stringify(bad)}`, `mutation($id: ID!, $v: String!) { updateNote(id: $id, input: { body: $v }) { id } }`, { id: noteId, v: bad }, "body"],
    [`createWorkspace name ${JSON.stringify(bad)}`, `mutation($v: String!) { createWorkspace(input: { name: $v }) { id } }`, { v: bad }, "name"],
    [`shareWorkspace email ${JSON.stringify(bad)}`, `mutation($w: ID!, $v: String!) { shareWorkspace(workspaceId: $w, email: $v, role: VIEWER) { role } }`, { w: workspaceId, v: `member${bad}@example.com` }, "email"],
    [`notes after ${JSON.stringify(bad)}`, `query($v: String) { notes(first: 5, after: $v) { edges { cursor } } }`, { v: bad }, "after"],
  ]),
  ...["", "  "].flatMap((blank): [string, string, Record<string, unknown>, string][] => [
    [`note id ${JSON.stringify(blank)}`, `query($v: ID!) { note(id: $v) { id } }`, { v: blank }, "id"],
    [`notes workspaceId ${JSON.stringify(blank)}`, `query($v: ID) { notes(first: 5, workspaceId: $v) { edges { cursor } } }`, { v: blank }, "workspaceId"],
    [`notes after ${JSON.stringify(blank)}`, `query($v: String) { notes(first: 5, after: $v) { edges { cursor } } }`, { v: blank }, "after"],
    [`workspace id ${JSON.stringify(blank)}`, `query($v: ID!) { workspace(id: $v) { id } }`, { v: blank }, "id"],
    [`createNote workspaceId ${JSON.stringify(blank)}`, `mutation($v: ID) { createNote(input: { title: "t", workspaceId: $v }) { id } }`, { v: blank }, "workspaceId"],
    [`updateNote id ${JSON.stringify(blank)}`, `mutation($v: ID!) { updateNote(id: $v, input: { title: "t" }) { id } }`, { v: blank }, "id"],
    [`deleteNote id ${JSON.stringify(blank)}`, `mutation($v: ID!) { deleteNote(id: $v) }`, { v: blank }, "id"],
    [`shareWorkspace workspaceId ${JSON.stringify(blank)}`, `mutation($v: ID!) { shareWorkspace(workspaceId: $v, email: "member@example.com", role: VIEWER) { role } }`, { v: blank }, "workspaceId"],
    [`unshareWorkspace workspaceId ${JSON.stringify(blank)}`, `mutation($v: ID!, $u: ID!) { unshareWorkspace(workspaceId: $v, userId: $u) }`, { v: blank, u: ownerId }, "workspaceId"],
    [`unshareWorkspace userId ${JSON.stringify(blank)}`, `mutation($w: ID!, $v: ID!) { unshareWorkspace(workspaceId: $w, userId: $v) }`, { w: workspaceId, v: blank }, "userId"],
    [`shareWorkspace email ${JSON.stringify(blank)}`, `mutation($w: ID!, $v: String!) { shareWorkspace(workspaceId: $w, email: $v, role: VIEWER) { role } }`, { w: workspaceId, v: blank }, "email"],
    [`createNote title ${JSON.stringify(blank)}`, `mutation($v: String!) { createNote(input: { title: $v }) { id } }`, { v: blank }, "title"],
    [`createWorkspace name ${JSON.stringify(blank)}`, `mutation($v: String!) { createWorkspace(input: { name: $v }) { id } }`, { v: blank }, "name"],
  ]),
];

describe("input the API cannot store or resolve", () => {
  it("is refused with BAD_USER_INPUT naming the field, for every string argument, and nothing changes", async () => {
    const before = await counts();
    const list = cases();
    expect(list.length).toBe(40);
    for (const [label, text, variables, field] of list) {
      const res = await api.gql(op(text), variables, owner);
      expect({ label, codes: codes(res), field: res.errors?.[0]?.extensions?.field }).toEqual({ label, codes: ["BAD_USER_INPUT"], field });
    }
    expect(await counts()).toEqual(before);
  });

  it("keeps the same text when it is storable (the refused characters are the only ones refused)", async () => {
    const text = "tab\there, newline\n, emoji 🗒️, accents é, RTL שלום, zero-width\u200b";
    const res = await api.gql(op(`mutation($v: String!) { createNote(input: { title: "ok", body: $v }) { body } }`), { v: text }, owner);
    expect(res.errors).toBeUndefined();
    expect((res.data!.createNote as { body: string }).body).toBe(text);
  });

  it("does not read an empty workspaceId as absent: no personal note is made, no list of everything is shown", async () => {
    const before = await counts();
    expect(codes(await api.gql(op(`mutation { createNote(input: { title: "t", workspaceId: "" }) { id } }`), {}, owner))).toEqual(["BAD_USER_INPUT"]);
    const list = await api.gql(op(`{ notes(first: 5, workspaceId: "") { edges { cursor } } }`), {}, owner);
    expect(codes(list)).toEqual(["BAD_USER_INPUT"]);
    expect(list.data ?? null).toBeNull();
    expect(await counts()).toEqual(before);
  });
});
