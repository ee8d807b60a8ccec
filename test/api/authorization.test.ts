/**
 * The tutorial scenario and every row of policy.md's operation table, end to end: HTTP →
 * shield rules → real permitio SDK → local PDP, with attributes from the stored rows.
 */
import { parse } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import type { Permit } from "permitio";
import {
  CreateNoteDocument,
  CreateWorkspaceDocument,
  DeleteNoteDocument,
  MeDocument,
  NoteDocument,
  NoteWithPermissionsDocument,
  NotesDocument,
  NotesWithPermissionsDocument,
  ShareWorkspaceDocument,
  UnshareWorkspaceDocument,
  UpdateNoteDocument,
  WorkspaceDocument,
  WorkspacesDocument,
} from "../generated/graphql";
import { codes, startTestApi, type TestApi } from "../support/api";
import { decisionCalls, decisionsMade, pdpStats, permitAdmin, resetPdpStats } from "../support/permit";

let api: TestApi;
let permit: Permit;
let a: string;
let b: string;
let aId: string;
let bId: string;

beforeAll(async () => {
  api = await startTestApi();
  permit = permitAdmin(api.permit);
  a = await api.token("a@example.com");
  b = await api.token("b@example.com");
  aId = (await api.gql(MeDocument, {}, a)).data!.me.id;
  bId = (await api.gql(MeDocument, {}, b)).data!.me.id;
});
afterAll(() => api.stop());

const createNote = async (token: string, title: string, workspaceId?: string) => {
  const res = await api.gql(CreateNoteDocument, { input: { title, workspaceId } }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.createNote;
};

const setPlan = async (userId: string, plan: string | null) => {
  const user = await permit.api.users.get(userId);
  const attributes = { ...(user.attributes ?? {}) } as Record<string, unknown>;
  if (plan === null) delete attributes.plan;
  else attributes.plan = plan;
  await permit.api.users.update(userId, { attributes });
};

const createWorkspace = async (ownerToken: string, ownerId: string, name: string) => {
  await setPlan(ownerId, "premium");
  const res = await api.gql(CreateWorkspaceDocument, { input: { name } }, ownerToken);
  expect(res.errors).toBeUndefined();
  return res.data!.createWorkspace;
};

describe("lazy user sync", () => {
  it("synced each user once, with the tenant role `user`", async () => {
    await resetPdpStats(api.permit);
    for (let i = 0; i < 3; i++) await api.gql(MeDocument, {}, a);
    const stats = await pdpStats(api.permit);
    // `me` reads the caller's roles from the PDP, never from the REST API; nothing writes users or role assignments any more.
    const writes = Object.keys(stats).filter((route) => /^(POST|PUT|PATCH|DELETE) \/v2\/facts/.test(route));
    expect(writes).toEqual([]);
    expect(stats["POST /user-permissions"]).toBe(3);
    expect(Object.keys(stats).filter((route) => route.includes("/v2/"))).toEqual([]);
    const me = await api.gql(MeDocument, {}, a);
    expect(me.data!.me.roles).toEqual(["user"]);
  });

  it("asks the PDP for the caller's roles only when they are selected", async () => {
    const meId = parse(`{ me { id email } }`) as TypedDocumentNode<{ me: { id: string; email: string | null } }, Record<string, never>>;
    await resetPdpStats(api.permit);
    const plain = await api.gql(meId, {}, a);
    expect(plain.errors).toBeUndefined();
    expect(plain.data!.me.id).toEqual(expect.any(String));
    expect((await pdpStats(api.permit))["POST /user-permissions"]).toBeUndefined();
    const withRoles = await api.gql(MeDocument, {}, a);
    expect(withRoles.data!.me.roles).toEqual(["user"]);
    expect((await pdpStats(api.permit))["POST /user-permissions"]).toBe(1);
  });

  it("concurrent first requests of a new user sync exactly once", async () => {
    const token = await api.token("concurrent@example.com");
    await resetPdpStats(api.permit);
    const results = await Promise.all(Array.from({ length: 8 }, () => api.gql(MeDocument, {}, token)));
    for (const res of results) expect(res.data?.me.roles).toEqual(["user"]);
    const stats = await pdpStats(api.permit);
    const creates = Object.entries(stats)
      .filter(([route]) => /^POST .*\/users$/.test(route))
      .reduce((sum, [, n]) => sum + n, 0);
    expect(creates).toBe(1);
  });
});

describe("the tutorial scenario", () => {
  it("A and B read each other's notes; only the owner may change them (ABAC on the stored owner)", async () => {
    const noteA = await createNote(a, "A's note");
    const noteB = await createNote(b, "B's note");
    expect((await api.gql(NoteDocument, { id: noteA.id }, b)).data?.note?.title).toBe("A's note");
    expect((await api.gql(NoteDocument, { id: noteB.id }, a)).data?.note?.title).toBe("B's note");

    expect(codes(await api.gql(UpdateNoteDocument, { id: noteA.id, input: { title: "hijacked" } }, b))).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql(DeleteNoteDocument, { id: noteA.id }, b))).toEqual(["FORBIDDEN"]);
    const own = await api.gql(UpdateNoteDocument, { id: noteA.id, input: { title: "A's edit" } }, a);
    expect(own.data?.updateNote.title).toBe("A's edit");
    expect((await api.gql(NoteDocument, { id: noteA.id }, a)).data?.note?.title).toBe("A's edit");
  });

  it("a forged owner in the input is refused and changes nothing", async () => {
    const noteA = await createNote(a, "mine");
    const forged = await api.http("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${b}` },
      body: JSON.stringify({
        query: `mutation($id: ID!) { updateNote(id: $id, input: { title: "x", owner: "${bId}" }) { id } }`,
        variables: { id: noteA.id },
      }),
    });
    expect(forged.status).toBe(400);
    expect((await api.gql(NoteDocument, { id: noteA.id }, a)).data?.note).toMatchObject({ title: "mine", owner: { id: aId } });
    expect(codes(await api.gql(DeleteNoteDocument, { id: noteA.id }, b))).toEqual(["FORBIDDEN"]);
  });

  it("B granted `admin` in Permit may delete A's note at once, with no restart", async () => {
    const noteA = await createNote(a, "admin target");
    expect(codes(await api.gql(DeleteNoteDocument, { id: noteA.id }, b))).toEqual(["FORBIDDEN"]);
    await permit.api.roleAssignments.assign({ user: bId, role: "admin", tenant: "default" });
    try {
      expect((await api.gql(MeDocument, {}, b)).data?.me.roles.sort()).toEqual(["admin", "user"]);
      const res = await api.gql(DeleteNoteDocument, { id: noteA.id }, b);
      expect(res.errors).toBeUndefined();
      expect(res.data?.deleteNote).toBe(noteA.id);
    } finally {
      await permit.api.roleAssignments.unassign({ user: bId, role: "admin", tenant: "default" });
    }
    const after = await createNote(a, "after admin");
    expect(codes(await api.gql(DeleteNoteDocument, { id: after.id }, b))).toEqual(["FORBIDDEN"]);
  });

  it("a policy change in Permit (`user` loses notes:get) changes reads on the next request", async () => {
    const noteA = await createNote(a, "soon hidden");
    expect((await api.gql(NoteDocument, { id: noteA.id }, b)).data?.note?.id).toBe(noteA.id);
    await permit.api.roles.removePermissions("user", ["notes:get"]);
    try {
      expect(codes(await api.gql(NoteDocument, { id: noteA.id }, b))).toEqual(["NOT_FOUND"]);
      const list = await api.gql(NotesDocument, { first: 100 }, b);
      expect(list.data!.notes.edges.map((e) => e.node.id)).not.toContain(noteA.id);
    } finally {
      await permit.api.roles.assignPermissions("user", ["notes:get"]);
    }
    expect((await api.gql(NoteDocument, { id: noteA.id }, b)).data?.note?.id).toBe(noteA.id);
  });

  it("createNote needs notes:post: FORBIDDEN once the role `user` loses it, and nothing is stored", async () => {
    await permit.api.roles.removePermissions("user", ["notes:post"]);
    try {
      const denied = await api.gql(CreateNoteDocument, { input: { title: "not allowed" } }, b);
      expect(codes(denied)).toEqual(["FORBIDDEN"]);
    } finally {
      await permit.api.roles.assignPermissions("user", ["notes:post"]);
    }
    const list = await api.gql(NotesDocument, { first: 100 }, b);
    expect(list.data!.notes.edges.map((e) => e.node.title)).not.toContain("not allowed");
    expect((await createNote(b, "allowed again")).title).toBe("allowed again");
  });

  it("createWorkspace is FORBIDDEN until B's plan is premium in Permit", async () => {
    await setPlan(bId, null);
    expect(codes(await api.gql(CreateWorkspaceDocument, { input: { name: "B's space" } }, b))).toEqual(["FORBIDDEN"]);
    await setPlan(bId, "premium");
    const res = await api.gql(CreateWorkspaceDocument, { input: { name: "B's space" } }, b);
    expect(res.errors).toBeUndefined();
    expect(res.data?.createWorkspace).toMatchObject({ name: "B's space", viewerRole: "OWNER" });
    await setPlan(bId, null);
  });
});

describe("workspaces (ReBAC) and the operation table", () => {
  let outsider: string;
  let editor: string;
  let viewer: string;
  beforeAll(async () => {
    outsider = await api.token("outsider@example.com");
    editor = await api.token("editor@example.com");
    viewer = await api.token("viewer@example.com");
    for (const t of [outsider, editor, viewer]) await api.gql(MeDocument, {}, t);
    // In these tests `user` may not read every note, so reads come from the workspace only.
    await permit.api.roles.removePermissions("user", ["notes:get"]);
  });
  afterAll(() => permit.api.roles.assignPermissions("user", ["notes:get"]));

  it("workspace(id) and workspaces: members only; NOT_FOUND / left out otherwise", async () => {
    const ws = await createWorkspace(a, aId, "team");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, a);
    const seen = await api.gql(WorkspaceDocument, { id: ws.id }, viewer);
    expect(seen.data?.workspace).toMatchObject({ name: "team", viewerRole: "VIEWER" });
    expect(seen.data?.workspace?.viewerCan).toEqual({ get: true, put: false, delete: false, share: false, addNote: false });
    expect(codes(await api.gql(WorkspaceDocument, { id: ws.id }, outsider))).toEqual(["NOT_FOUND"]);
    expect((await api.gql(WorkspacesDocument, {}, viewer)).data!.workspaces.map((w) => w.id)).toContain(ws.id);
    expect((await api.gql(WorkspacesDocument, {}, outsider)).data!.workspaces.map((w) => w.id)).not.toContain(ws.id);
    const owner = await api.gql(WorkspaceDocument, { id: ws.id }, a);
    expect(owner.data?.workspace?.viewerCan).toEqual({ get: true, put: true, delete: true, share: true, addNote: true });
  });

  it("createNote in a workspace needs add_note: owner and editor yes, viewer FORBIDDEN, outsider NOT_FOUND", async () => {
    const ws = await createWorkspace(a, aId, "writers");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "editor@example.com", role: "EDITOR" }, a);
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, a);
    expect((await createNote(a, "by owner", ws.id)).workspace?.id).toBe(ws.id);
    expect((await createNote(editor, "by editor", ws.id)).workspace?.id).toBe(ws.id);
    expect(codes(await api.gql(CreateNoteDocument, { input: { title: "v", workspaceId: ws.id } }, viewer))).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql(CreateNoteDocument, { input: { title: "o", workspaceId: ws.id } }, outsider))).toEqual(["NOT_FOUND"]);
  });

  it("notes in a workspace: manager/editor/viewer roles derive from the workspace role", async () => {
    const ws = await createWorkspace(a, aId, "derived");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "editor@example.com", role: "EDITOR" }, a);
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, a);
    const note = await createNote(editor, "shared note", ws.id);
    const can = async (token: string) => (await api.gql(NoteWithPermissionsDocument, { id: note.id }, token)).data?.note?.viewerCan;
    expect(await can(a)).toEqual({ get: true, put: true, delete: true });
    expect(await can(editor)).toEqual({ get: true, put: true, delete: true }); // editor role + own note (ABAC)
    expect(await can(viewer)).toEqual({ get: true, put: false, delete: false });
    expect(codes(await api.gql(NoteWithPermissionsDocument, { id: note.id }, outsider))).toEqual(["NOT_FOUND"]);

    // viewerCan equals what the operations then do.
    expect(codes(await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "v" } }, viewer))).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql(DeleteNoteDocument, { id: note.id }, viewer))).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "o" } }, outsider))).toEqual(["NOT_FOUND"]);
    expect(codes(await api.gql(DeleteNoteDocument, { id: note.id }, outsider))).toEqual(["NOT_FOUND"]);
    expect((await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "by owner" } }, a)).data?.updateNote.title).toBe("by owner");
    expect((await api.gql(DeleteNoteDocument, { id: note.id }, a)).data?.deleteNote).toBe(note.id);
  });

  it("notes(workspaceId): members see the workspace's notes, others NOT_FOUND", async () => {
    const ws = await createWorkspace(a, aId, "listing");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, a);
    const n1 = await createNote(a, "one", ws.id);
    const n2 = await createNote(a, "two", ws.id);
    const list = await api.gql(NotesDocument, { first: 10, workspaceId: ws.id }, viewer);
    expect(list.data!.notes.edges.map((e) => e.node.id)).toEqual([n2.id, n1.id]);
    expect(codes(await api.gql(NotesDocument, { first: 10, workspaceId: ws.id }, outsider))).toEqual(["NOT_FOUND"]);
  });

  it("shareWorkspace / unshareWorkspace need share: owner yes, editor FORBIDDEN, outsider NOT_FOUND", async () => {
    const ws = await createWorkspace(a, aId, "sharing");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "editor@example.com", role: "EDITOR" }, a);
    const editorId = (await api.gql(MeDocument, {}, editor)).data!.me.id;
    const viewerId = (await api.gql(MeDocument, {}, viewer)).data!.me.id;
    expect(codes(await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, editor))).toEqual(["FORBIDDEN"]);
    expect(codes(await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, outsider))).toEqual(["NOT_FOUND"]);
    expect(codes(await api.gql(UnshareWorkspaceDocument, { workspaceId: ws.id, userId: editorId }, editor))).toEqual(["FORBIDDEN"]);

    const shared = await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, a);
    expect(shared.data?.shareWorkspace).toMatchObject({ role: "VIEWER", user: { id: viewerId } });
    expect((await api.gql(WorkspaceDocument, { id: ws.id }, viewer)).data?.workspace?.viewerRole).toBe("VIEWER");

    expect((await api.gql(UnshareWorkspaceDocument, { workspaceId: ws.id, userId: viewerId }, a)).data?.unshareWorkspace).toBe(true);
    expect(codes(await api.gql(WorkspaceDocument, { id: ws.id }, viewer))).toEqual(["NOT_FOUND"]);
    expect((await api.gql(UnshareWorkspaceDocument, { workspaceId: ws.id, userId: viewerId }, a)).data?.unshareWorkspace).toBe(false);
    expect(codes(await api.gql(UnshareWorkspaceDocument, { workspaceId: ws.id, userId: aId }, a))).toEqual(["CONFLICT"]);
  });

  it("changing a member's role replaces it in the PDP (editor → viewer loses add_note)", async () => {
    const ws = await createWorkspace(a, aId, "roles");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "editor@example.com", role: "EDITOR" }, a);
    expect((await createNote(editor, "while editor", ws.id)).id).toBeTruthy();
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "editor@example.com", role: "VIEWER" }, a);
    expect(codes(await api.gql(CreateNoteDocument, { input: { title: "now viewer", workspaceId: ws.id } }, editor))).toEqual(["FORBIDDEN"]);
  });

  it("sharing with an email nobody signed in with is NOT_FOUND; a bad email is BAD_USER_INPUT", async () => {
    const ws = await createWorkspace(a, aId, "unknowns");
    expect(codes(await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "nobody@example.com", role: "VIEWER" }, a))).toEqual(["NOT_FOUND"]);
    expect(codes(await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "not-an-email", role: "VIEWER" }, a))).toEqual(["BAD_USER_INPUT"]);
  });

  it("lists agree with checks for page sizes 1, 2, 7 and 100 under a policy that hides notes", async () => {
    const ws = await createWorkspace(a, aId, "consistency");
    await api.gql(ShareWorkspaceDocument, { workspaceId: ws.id, email: "viewer@example.com", role: "VIEWER" }, a);
    const other = await createWorkspace(a, aId, "hidden");
    for (let i = 0; i < 9; i++) {
      await createNote(a, `visible ${i}`, ws.id);
      if (i % 2 === 0) await createNote(a, `hidden ${i}`, other.id);
      if (i % 3 === 0) await createNote(a, `personal ${i}`);
    }
    const everything = await api.gql(NotesDocument, { first: 100 }, a);
    const all = everything.data!.notes.edges.map((e) => e.node.id);
    const readable: string[] = [];
    for (const id of all) if ((await api.gql(NoteDocument, { id }, viewer)).data?.note) readable.push(id);
    expect(readable.length).toBeGreaterThan(0);
    expect(readable.length).toBeLessThan(all.length);

    for (const size of [1, 2, 7, 100]) {
      const seen: string[] = [];
      let after: string | null | undefined;
      for (let page = 0; page < 100; page++) {
        const res = await api.gql(NotesDocument, { first: size, after }, viewer);
        expect(res.errors).toBeUndefined();
        seen.push(...res.data!.notes.edges.map((e) => e.node.id));
        if (!res.data!.notes.pageInfo.hasNextPage) break;
        after = res.data!.notes.pageInfo.endCursor;
      }
      expect(seen.filter((id) => all.includes(id))).toEqual(readable);
    }
  });
});

describe("PDP calls per request (counted at the local PDP)", () => {
  it("a page of notes with their viewerCan costs one bulk call", async () => {
    for (let i = 0; i < 5; i++) await createNote(a, `counted ${i}`);
    await api.gql(MeDocument, {}, a);
    await resetPdpStats(api.permit);
    const res = await api.gql(NotesWithPermissionsDocument, { first: 5 }, a);
    expect(res.errors).toBeUndefined();
    expect(res.data!.notes.edges).toHaveLength(5);
    for (const edge of res.data!.notes.edges) expect(edge.node.viewerCan.get).toBe(true);
    expect(decisionCalls(await pdpStats(api.permit))).toEqual({ single: 0, bulk: 1, total: 1 });
  });

  it("viewerCan on a page asks no put or delete the policy cannot allow (another user's notes), and asks them of the owner", async () => {
    for (let i = 0; i < 5; i++) await createNote(a, `owned by a ${i}`);
    const checksOf = async (token: string) => {
      const before = await decisionsMade(api.permit);
      const res = await api.gql(NotesWithPermissionsDocument, { first: 5 }, token);
      expect(res.errors).toBeUndefined();
      return { edges: res.data!.notes.edges, checks: (await decisionsMade(api.permit)) - before };
    };
    const other = await checksOf(b);
    const owner = await checksOf(a);
    expect(other.edges.map((e) => e.node.id)).toEqual(owner.edges.map((e) => e.node.id));
    // b may read a's notes but, under the default policy, neither change nor delete them: known from the plan.
    for (const edge of other.edges) expect(edge.node.viewerCan).toEqual({ get: true, put: false, delete: false });
    for (const edge of owner.edges) expect(edge.node.viewerCan).toEqual({ get: true, put: true, delete: true });
    // The owner's page asks put and delete of each of the 5 notes; b's asks only get.
    expect(owner.checks - other.checks).toBe(10);
    expect(other.checks).toBeLessThanOrEqual(6);
  });

  it("note(id) with viewerCan costs one bulk call", async () => {
    const note = await createNote(a, "single");
    await resetPdpStats(api.permit);
    const res = await api.gql(NoteWithPermissionsDocument, { id: note.id }, a);
    expect(res.data?.note?.viewerCan).toEqual({ get: true, put: true, delete: true });
    expect(decisionCalls(await pdpStats(api.permit))).toEqual({ single: 0, bulk: 1, total: 1 });
  });
});
