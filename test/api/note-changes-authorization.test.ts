/**
 * Who sees which change in `noteChanges`, against the real API and the local PDP over the SDK:
 * each kind in order for the owner, a member, a tenant admin and a non-member; a restrictive
 * policy applied at run time (decided when the page is read, not when the change was written);
 * WORKSPACE_GRANTED and WORKSPACE_REVOKED to exactly the user concerned; and one PDP call per
 * page of 100, none per change a caller may not see.
 */
import type { Permit } from "permitio";
import { CreateNoteDocument, CreateWorkspaceDocument, DeleteNoteDocument, NoteChangesDocument, NoteChangesHeadDocument, ShareWorkspaceDocument, UnshareWorkspaceDocument, UpdateNoteDocument } from "../generated/graphql";
import { dataOf, signIn, type TestApi } from "../support/api";
import { untilChangesReadable } from "../support/database";
import { decisionCalls, pdpStats, permitAdmin, resetPdpStats } from "../support/permit";
import { startApiBehindProxy, type ApiBehindProxy } from "../support/policy-pdp";

jest.setTimeout(120_000);

const API_KEY = "test_note_changes_authorization";
let setup: ApiBehindProxy;
let api: TestApi;
let permit: Permit;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
let workspaceId: string;

beforeAll(async () => {
  setup = await startApiBehindProxy(API_KEY);
  api = setup.api;
  permit = permitAdmin({ apiKey: API_KEY, pdpUrl: setup.pdp.url, apiUrl: setup.pdp.url });
  for (const name of ["bob", "alice", "erin", "carol", "dave"]) {
    ({ token: tokens[name], id: ids[name] } = await signIn(api, name));
  }
  await permit.api.users.update(ids.bob!, { attributes: { plan: "premium" } });
  await permit.api.users.assignRole({ user: ids.erin!, role: "admin", tenant: "default" });
  workspaceId = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name: "Launch" } }, tokens.bob)).createWorkspace.id;
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId, email: "alice@example.com", role: "VIEWER" }, tokens.bob));
});
afterAll(() => setup.stop());

const pdp = () => ({ apiKey: API_KEY, pdpUrl: setup.pdp.url });

const head = async (name: string) => dataOf(await api.gql(NoteChangesHeadDocument, {}, tokens[name])).noteChangesHead;
const heads = async (...names: string[]) => Object.fromEntries(await Promise.all(names.map(async (n) => [n, await head(n)] as const)));
const createNote = async (name: string, title: string, inWorkspace?: string) => dataOf(await api.gql(CreateNoteDocument, { input: { title, workspaceId: inWorkspace } }, tokens[name])).createNote;
const changes = async (name: string, after: string, first?: number) => {
  await untilChangesReadable(api.dataSource);
  return dataOf(await api.gql(NoteChangesDocument, { after, first }, tokens[name])).noteChanges;
};
const seen = async (name: string, after: string) => (await changes(name, after)).changes.map((c) => [c.kind, c.noteId ?? c.workspaceId]);

describe("under the default policy (the tenant role `user` reads every note)", () => {
  it("shows a personal note's changes to any user, and stops showing them once a restrictive policy is applied at run time", async () => {
    const from = await heads("carol", "alice");
    const personal = await createNote("bob", "bob's personal note");
    expect(await seen("carol", from.carol!)).toEqual([["CREATED", personal.id]]);

    // The policy changes in the PDP (as in Permit's dashboard): `user` reads only its own notes.
    await permit.api.roles.removePermissions("user", ["notes:get"]);
    await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:get", resource_set: "own_notes" });
    // Decided when the page is read: the change written before the policy changed is gone too.
    expect(await seen("carol", from.carol!)).toEqual([]);
    const later = await createNote("bob", "after the policy change", workspaceId);
    // alice reads the workspace's note through her role there, not bob's personal one any more.
    expect(await seen("alice", from.alice!)).toEqual([["CREATED", later.id]]);
    expect(await seen("carol", from.carol!)).toEqual([]);
  });
});

describe("under a policy where `user` reads only its own notes (applied above)", () => {
  it("gives each note kind in order to the owner, a member and an admin, and nothing to a non-member", async () => {
    const from = await heads("bob", "alice", "erin", "carol");
    const kept = await createNote("bob", "kept", workspaceId);
    dataOf(await api.gql(UpdateNoteDocument, { id: kept.id, input: { title: "kept, edited" } }, tokens.bob));
    const gone = await createNote("bob", "deleted", workspaceId);
    dataOf(await api.gql(DeleteNoteDocument, { id: gone.id }, tokens.bob));

    // A note deleted before the page is read shows only its DELETED (its CREATED would have no note to show).
    const expected = [
      ["CREATED", kept.id],
      ["UPDATED", kept.id],
      ["DELETED", gone.id],
    ];
    expect(await seen("bob", from.bob!)).toEqual(expected);
    expect(await seen("alice", from.alice!)).toEqual(expected);
    expect(await seen("erin", from.erin!)).toEqual(expected);
    expect(await seen("carol", from.carol!)).toEqual([]);

    const page = await changes("alice", from.alice!);
    expect(page.changes[0]).toMatchObject({ kind: "CREATED", workspaceId, version: 1, note: { id: kept.id, title: "kept, edited", version: 2 } });
    expect(page.changes[2]).toMatchObject({ kind: "DELETED", workspaceId, version: 1, note: null });
  });

  it("gives WORKSPACE_GRANTED and WORKSPACE_REVOKED to exactly the user shared and unshared, and their notes only while a member", async () => {
    const from = await heads("bob", "alice", "erin", "carol", "dave");
    dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId, email: "dave@example.com", role: "EDITOR" }, tokens.bob));
    const whileMember = await createNote("bob", "while dave is a member", workspaceId);
    const afterGrant = await seen("dave", from.dave!);
    expect(afterGrant).toEqual([
      ["WORKSPACE_GRANTED", workspaceId],
      ["CREATED", whileMember.id],
    ]);

    dataOf(await api.gql(UnshareWorkspaceDocument, { workspaceId, userId: ids.dave! }, tokens.bob));
    const afterRevoke = await seen("dave", from.dave!);
    // The note is no longer readable when this page is read: only the two workspace kinds remain.
    expect(afterRevoke).toEqual([
      ["WORKSPACE_GRANTED", workspaceId],
      ["WORKSPACE_REVOKED", workspaceId],
    ]);
    // Nobody else hears of dave's role.
    for (const name of ["bob", "alice", "erin", "carol"]) {
      expect((await seen(name, from[name]!)).filter(([kind]) => kind!.startsWith("WORKSPACE_"))).toEqual([]);
    }
    // alice, still a member, keeps getting the workspace's changes.
    expect(await seen("alice", from.alice!)).toEqual([["CREATED", whileMember.id]]);
  });

  it("decides a page of 100 changes in one PDP call, and skips changes a caller may not see without a call per change", async () => {
    const from = await heads("alice", "carol");
    for (let i = 0; i < 150; i++) await createNote("bob", `bulk ${i}`, workspaceId);

    await resetPdpStats(pdp());
    const first = await changes("alice", from.alice!, 100);
    expect(first.changes).toHaveLength(100);
    expect(first.hasMore).toBe(true);
    expect(decisionCalls(await pdpStats(pdp()))).toEqual({ single: 0, bulk: 1, total: 1 });

    await resetPdpStats(pdp());
    const second = await changes("alice", first.cursor, 100);
    expect(second.changes).toHaveLength(50);
    expect(second.hasMore).toBe(false);
    expect(decisionCalls(await pdpStats(pdp())).total).toBe(1);

    // carol may read none of them: the list plan's candidates leave them out in SQL, with no decision at all.
    await resetPdpStats(pdp());
    const carols = await changes("carol", from.carol!, 100);
    expect(carols.changes).toEqual([]);
    expect(carols.hasMore).toBe(false);
    expect(decisionCalls(await pdpStats(pdp())).total).toBe(0);
  });
});
