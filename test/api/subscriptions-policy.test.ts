/**
 * Every event is decided again, for each subscriber, by the PDP at that moment: a role taken
 * away in Permit, an unshare, or a policy where `user` reads only its own notes (applied at
 * run time, as in Permit's dashboard) stops the next event. With the PDP unreachable nothing
 * is delivered unchecked: the stream gets AUTHZ_UNAVAILABLE and the socket stays open.
 */
import type { Permit } from "permitio";
import { CreateNoteDocument, CreateWorkspaceDocument, DeleteNoteDocument, ShareWorkspaceDocument, UnshareWorkspaceDocument, UpdateNoteDocument } from "../generated/graphql";
import { logNoteChange, logNoteDeletions } from "../../src/changes/change-log";
import { NoteRepository } from "../../src/notes/note.repository";
import { dataOf, signIn, type TestApi } from "../support/api";
import { permitAdmin } from "../support/permit";
import { startApiBehindProxy, type ApiBehindProxy } from "../support/policy-pdp";
import { connect, NOTE_EVENTS, subscribe, waitFor, type NoteEventsResult, type Subscription, type WsConnection } from "../support/subscriptions";
import { untilChangesReadable } from "../support/database";

let setup: ApiBehindProxy;
let api: TestApi;
let permit: Permit;
const tokens: Record<string, string> = {};
const ids: Record<string, string> = {};
let workspaceId: string;
const connections: WsConnection[] = [];

beforeAll(async () => {
  setup = await startApiBehindProxy("test_subscriptions_policy", { PERMIT_TIMEOUT_MS: "800", PDP_BREAKER_COOLDOWN_MS: "100" });
  api = setup.api;
  permit = permitAdmin({ apiKey: "test_subscriptions_policy", pdpUrl: setup.pdp.url, apiUrl: setup.pdp.url });
  for (const name of ["alice", "bob", "carol", "dave", "erin"]) {
    ({ token: tokens[name], id: ids[name] } = await signIn(api, name));
  }
  await permit.api.users.update(ids.bob!, { attributes: { plan: "premium" } });
  workspaceId = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name: "Launch" } }, tokens.bob)).createWorkspace.id;
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId, email: "alice@example.com", role: "VIEWER" }, tokens.bob));
});
afterEach(async () => {
  setup.proxy.mode = "forward";
  await Promise.all(connections.splice(0).map((c) => c.dispose()));
  await waitFor(() => api.noteEvents.subscriberCount === 0, 5000, "subscriptions to end");
});
afterAll(() => setup.stop());

async function listen(name: string, variables: Record<string, unknown> = {}): Promise<Subscription<NoteEventsResult>> {
  const connection = connect(api.url, tokens[name]!);
  connections.push(connection);
  await connection.acknowledged;
  // A subscription starts at the feed's head: every earlier change readable first, so none of them reaches it.
  await untilChangesReadable(api.dataSource);
  const before = api.noteEvents.subscriberCount;
  const events = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS, variables);
  await waitFor(() => api.noteEvents.subscriberCount === before + 1);
  return events;
}

const createNote = async (name: string, title: string, inWorkspace?: string) =>
  dataOf(await api.gql(CreateNoteDocument, { input: { title, workspaceId: inWorkspace } }, tokens[name])).createNote;

const update = async (name: string, id: string, title: string) => {
  dataOf(await api.gql(UpdateNoteDocument, { id, input: { title } }, tokens[name]));
};

const noteIdOf = async (events: Subscription<NoteEventsResult>) => {
  const result = await events.next();
  expect(result.errors).toBeUndefined();
  return result.data!.noteEvents.noteId;
};

describe("under the default policy", () => {
  it("stops a subscriber's events once their role is taken away in Permit, while others keep theirs", async () => {
    const dave = await listen("dave");
    const erin = await listen("erin");
    const note = await createNote("bob", "before");
    expect(await noteIdOf(dave)).toBe(note.id);
    expect(await noteIdOf(erin)).toBe(note.id);

    await permit.api.users.unassignRole({ user: ids.dave!, role: "user", tenant: "default" });
    await update("bob", note.id, "after");
    expect(await noteIdOf(erin)).toBe(note.id);
    await dave.expectNothingFor(300);
    expect(Number(/^note_events_total\{outcome="denied"\} (\d+)$/m.exec(await (await api.http("/metrics")).text())?.[1])).toBeGreaterThanOrEqual(1);
    await permit.api.users.assignRole({ user: ids.dave!, role: "user", tenant: "default" });
  });

  it("decides the fields that decide for themselves (viewerCan) again at every event", async () => {
    const connection = connect(api.url, tokens.erin!);
    connections.push(connection);
    await connection.acknowledged;
    const events = subscribe<{ noteEvents: { noteId: string; note: { viewerCan: { put: boolean } } } }>(
      connection.client,
      `subscription { noteEvents { noteId note { viewerCan { put } } } }`,
    );
    await waitFor(() => api.noteEvents.subscriberCount === 1);
    const note = await createNote("bob", "whose?");
    expect((await events.next()).data!.noteEvents.note.viewerCan.put).toBe(false);

    await permit.api.users.assignRole({ user: ids.erin!, role: "admin", tenant: "default" });
    try {
      await update("bob", note.id, "now erin may edit it");
      expect((await events.next()).data!.noteEvents.note.viewerCan.put).toBe(true);
    } finally {
      await permit.api.users.unassignRole({ user: ids.erin!, role: "admin", tenant: "default" });
    }
  });
});

describe("PDP unavailable", () => {
  /** A committed change that needs no decision to be written (the PDP is down), announced like any other. */
  const writeBehindThePdp = async (noteId: string, title: string) => {
    const repository = new NoteRepository(api.dataSource);
    await api.dataSource.transaction(async (m) => {
      const updated = await repository.update(m, noteId, { title }, null);
      await logNoteChange(m, "UPDATED", updated!);
    });
  };

  it.each(["refuse", "hang"] as const)("PDP %s: the stream gets AUTHZ_UNAVAILABLE and no event; after the outage events flow on the same socket", async (mode) => {
    const alice = await listen("alice");
    const note = await createNote("bob", `outage ${mode}`);
    expect(await noteIdOf(alice)).toBe(note.id);

    setup.proxy.mode = mode;
    await writeBehindThePdp(note.id, "while down");
    const failed = await alice.next(5000);
    expect(failed.data ?? null).toBeNull();
    expect(failed.errors?.map((e) => e.extensions?.code)).toEqual(["AUTHZ_UNAVAILABLE"]);

    setup.proxy.mode = "forward";
    await new Promise((resolve) => setTimeout(resolve, 150)); // the breaker's cool-down
    await writeBehindThePdp(note.id, "back");
    const recovered = await alice.next(5000);
    expect(recovered.errors).toBeUndefined();
    expect(recovered.data!.noteEvents).toMatchObject({ kind: "UPDATED", noteId: note.id, note: { title: "back" } });
    expect(alice.results.filter((r) => r.data?.noteEvents.note?.title === "while down")).toEqual([]);
  });
});

describe("under a policy where `user` reads only its own notes", () => {
  beforeAll(async () => {
    await permit.api.roles.removePermissions("user", ["notes:get"]);
    await permit.api.conditionSetRules.create({ user_set: "__autogen_user", permission: "notes:get", resource_set: "own_notes" });
  });

  it("shows carol none of bob's notes (workspace or personal) but her own, while alice gets the workspace's through her role", async () => {
    const carol = await listen("carol");
    const alice = await listen("alice");
    const inWorkspace = await createNote("bob", "workspace note", workspaceId);
    const personal = await createNote("bob", "bob's personal note");
    const carols = await createNote("carol", "carol's own");

    expect(await noteIdOf(alice)).toBe(inWorkspace.id);
    expect(await noteIdOf(carol)).toBe(carols.id);
    await carol.expectNothingFor(300);
    expect(alice.results.map((r) => r.data?.noteEvents.noteId)).not.toContain(personal.id);
    expect(carol.results.map((r) => r.data?.noteEvents.noteId)).toEqual([carols.id]);
  });

  it("gives DELETED to those who could read the note just before it was deleted, and not to others", async () => {
    const alice = await listen("alice", { workspaceId });
    const carol = await listen("carol");
    const note = await createNote("bob", "to be deleted", workspaceId);
    expect(await noteIdOf(alice)).toBe(note.id);
    const hubChecks = api.noteEvents.stats.checks;
    const deleted = await api.gql(DeleteNoteDocument, { id: note.id }, tokens.bob);
    expect(deleted.errors).toBeUndefined();
    const event = await alice.next();
    expect(event.data!.noteEvents).toMatchObject({ kind: "DELETED", noteId: note.id, version: 1, note: null });
    await carol.expectNothingFor(300);
    // alice, a member, was decided by the writer before the deletion (by then its fact may have
    // reached the PDP, which would no longer know the note's workspace); only carol, outside the
    // workspace, is asked by the hub, from the row's last attributes, and denied.
    expect(api.noteEvents.stats.checks - hubChecks).toBe(1);
  });

  describe("a deletion logged with the audience its writer decided", () => {
    const deleteLogging = (noteId: string, audience: string[]) => {
      const repository = new NoteRepository(api.dataSource);
      return api.dataSource.transaction(async (m) => {
        const row = await repository.delete(m, noteId);
        await logNoteDeletions(m, [row!], () => audience);
      });
    };

    it("reaches its audience without asking the PDP (here unreachable); anyone else gets AUTHZ_UNAVAILABLE, never the unchecked event", async () => {
      const alice = await listen("alice", { workspaceId });
      const bob = await listen("bob", { workspaceId });
      const note = await createNote("bob", "deleted while the PDP is away", workspaceId);
      expect(await noteIdOf(alice)).toBe(note.id);
      expect(await noteIdOf(bob)).toBe(note.id);
      setup.proxy.mode = "refuse";
      await deleteLogging(note.id, [ids.alice!]);
      const event = await alice.next();
      expect(event.errors).toBeUndefined();
      expect(event.data!.noteEvents).toMatchObject({ kind: "DELETED", noteId: note.id, note: null });
      // bob, the owner, is outside the audience this writer decided: he must be asked, and cannot be.
      const failed = await bob.next();
      expect(failed.data ?? null).toBeNull();
      expect(failed.errors?.map((e) => e.extensions?.code)).toEqual(["AUTHZ_UNAVAILABLE"]);
    });
  });

  it("stops alice's events for the workspace once she is unshared, while bob, the owner, still gets them", async () => {
    const alice = await listen("alice", { workspaceId });
    const bob = await listen("bob", { workspaceId });
    const note = await createNote("bob", "shared for now", workspaceId);
    expect(await noteIdOf(alice)).toBe(note.id);
    expect(await noteIdOf(bob)).toBe(note.id);

    // The mutation answers once the PDP has acknowledged the change (no factsPending).
    const unshared = await api.gql(UnshareWorkspaceDocument, { workspaceId, userId: ids.alice! }, tokens.bob);
    expect(unshared.errors).toBeUndefined();
    await update("bob", note.id, "after the unshare");
    expect(await noteIdOf(bob)).toBe(note.id);
    await alice.expectNothingFor(300);
  });
});
