/**
 * Decision ids and explanations of denials, end to end: every FORBIDDEN and NOT_FOUND carries
 * `extensions.decisionId`, the API's log has the decision under that id, a missing row and a
 * hidden one answer alike (only the log tells them apart), and `x-authz-explain: 1` adds the
 * explanation outside production only.
 */
import { randomUUID } from "node:crypto";
import type { Permit } from "permitio";
import {
  CreateNoteDocument,
  CreateWorkspaceDocument,
  DeleteNoteDocument,
  MeDocument,
  ShareWorkspaceDocument,
  UpdateNoteDocument,
  WorkspaceDocument,
} from "../generated/graphql";
import { startTestApi, type GraphQLResponse, type TestApi } from "../support/api";
import { permitAdmin } from "../support/permit";
import { connect, NOTE_EVENTS, subscribe, waitFor, type NoteEventsResult } from "../support/subscriptions";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const EXPLAIN = { "x-authz-explain": "1" };

let api: TestApi;
let permit: Permit;
const logLines: string[] = [];
let alice: string;
let bob: string;
let aliceId: string;
let bobId: string;

beforeAll(async () => {
  api = await startTestApi({ LOG_LEVEL: "debug" }, { logLines });
  permit = permitAdmin(api.permit);
  alice = await api.token("alice@example.com");
  bob = await api.token("bob@example.com");
  aliceId = (await api.gql(MeDocument, {}, alice)).data!.me.id;
  bobId = (await api.gql(MeDocument, {}, bob)).data!.me.id;
});
afterAll(() => api.stop());

interface LogLine {
  level: number;
  msg: string;
  reqId?: string;
  decisionId?: string;
  user?: string;
  action?: string;
  resource?: string;
  attributes?: Record<string, unknown>;
  allow?: boolean;
  pdpMs?: number;
  reason?: string;
}

const logged = (): LogLine[] => logLines.map((l) => JSON.parse(l) as LogLine);
const linesOf = (decisionId: unknown) => logged().filter((l) => l.decisionId === decisionId);
const DEBUG = 20;
const INFO = 30;

const createNote = async (token: string, title: string) => {
  const res = await api.gql(CreateNoteDocument, { input: { title } }, token);
  expect(res.errors).toBeUndefined();
  return res.data!.createNote;
};

const theError = (res: GraphQLResponse<unknown>) => {
  expect(res.errors).toHaveLength(1);
  return res.errors![0]!;
};

describe("decision ids", () => {
  it("a FORBIDDEN carries the id of the decision that the log records at info level, with its facts", async () => {
    const note = await createNote(alice, "alice's");
    const res = await api.gql(DeleteNoteDocument, { id: note.id }, bob, { "x-request-id": "req-forbidden-1" });
    const error = theError(res);
    expect(error.extensions).toEqual({ code: "FORBIDDEN", decisionId: expect.stringMatching(UUID) });

    const denial = linesOf(error.extensions!.decisionId).filter((l) => l.level === INFO);
    expect(denial).toEqual([
      expect.objectContaining({
        reqId: "req-forbidden-1",
        user: bobId,
        action: "delete",
        resource: `notes:${note.id}`,
        attributes: { owner: aliceId },
        allow: false,
        pdpMs: expect.any(Number),
      }),
    ]);
    expect(denial[0]!.reason).toBeUndefined();
  });

  it("an allowed decision is logged at debug level only, with its own id, and answers no decision id", async () => {
    const note = await createNote(alice, "to edit");
    const res = await api.gql(UpdateNoteDocument, { id: note.id, input: { title: "edited" } }, alice, { "x-request-id": "req-allowed-1" });
    expect(res.errors).toBeUndefined();
    const put = logged().filter((l) => l.reqId === "req-allowed-1" && l.action === "put");
    expect(put).toEqual([expect.objectContaining({ level: DEBUG, user: aliceId, resource: `notes:${note.id}`, allow: true, decisionId: expect.stringMatching(UUID) })]);
    expect(logged().filter((l) => l.reqId === "req-allowed-1" && l.level >= INFO && l.decisionId)).toEqual([]);
  });

  it("two denials get two different ids", async () => {
    const note = await createNote(alice, "twice");
    const first = theError(await api.gql(DeleteNoteDocument, { id: note.id }, bob));
    const second = theError(await api.gql(DeleteNoteDocument, { id: note.id }, bob));
    expect(first.extensions!.decisionId).not.toEqual(second.extensions!.decisionId);
  });

  it("a missing workspace and a hidden one answer alike; only the log tells them apart", async () => {
    await permit.api.users.update(aliceId, { attributes: { plan: "premium" } });
    const created = await api.gql(CreateWorkspaceDocument, { input: { name: "alice's space" } }, alice);
    expect(created.errors).toBeUndefined();
    const hiddenId = created.data!.createWorkspace.id;
    const missingId = randomUUID();

    const hidden = theError(await api.gql(WorkspaceDocument, { id: hiddenId }, bob, { "x-request-id": "req-hidden" }));
    const missing = theError(await api.gql(WorkspaceDocument, { id: missingId }, bob, { "x-request-id": "req-missing" }));
    const shape = (e: typeof hidden, id: string) => ({ ...e, message: e.message.replace(id, "<id>"), extensions: { ...e.extensions, decisionId: "<id>" } });
    expect(shape(hidden, hiddenId)).toEqual(shape(missing, missingId));
    expect(hidden.extensions).toEqual({ code: "NOT_FOUND", decisionId: expect.stringMatching(UUID) });
    expect(missing.extensions).toEqual({ code: "NOT_FOUND", decisionId: expect.stringMatching(UUID) });

    const [hiddenLine] = linesOf(hidden.extensions!.decisionId).filter((l) => l.level === INFO);
    const [missingLine] = linesOf(missing.extensions!.decisionId).filter((l) => l.level === INFO);
    expect(hiddenLine).toEqual(expect.objectContaining({ reqId: "req-hidden", user: bobId, action: "get", resource: `workspaces:${hiddenId}`, allow: false, pdpMs: expect.any(Number) }));
    expect(hiddenLine!.reason).toBeUndefined();
    expect(missingLine).toEqual(expect.objectContaining({ reqId: "req-missing", user: bobId, action: "get", resource: `workspaces:${missingId}`, allow: false, reason: "missing" }));
    expect(missingLine!.pdpMs).toBeUndefined();

    // The owner is not refused: no denial, no decision id.
    const own = await api.gql(WorkspaceDocument, { id: hiddenId }, alice);
    expect(own.errors).toBeUndefined();
  });

  it("a NOT_FOUND raised after the rules allowed (an unknown email) carries a decision id too", async () => {
    const created = await api.gql(CreateWorkspaceDocument, { input: { name: "to share" } }, alice);
    const res = await api.gql(ShareWorkspaceDocument, { workspaceId: created.data!.createWorkspace.id, email: "nobody@example.com", role: "VIEWER" }, alice);
    const error = theError(res);
    expect(error.extensions).toEqual({ code: "NOT_FOUND", decisionId: expect.stringMatching(UUID) });
    expect(linesOf(error.extensions!.decisionId)).toEqual([expect.objectContaining({ level: INFO, user: aliceId, allow: false, reason: "missing" })]);
  });
});

describe("decision ids of live events", () => {
  it("each subscriber's decision on an event is logged at debug level with its id, user and the row's attributes", async () => {
    const connection = connect(api.url, alice);
    try {
      await connection.acknowledged;
      const events = subscribe<NoteEventsResult>(connection.client, NOTE_EVENTS);
      await waitFor(() => api.noteEvents.subscriberCount === 1);
      const note = await createNote(bob, "announced");
      const received = await events.next();
      expect(received.data?.noteEvents).toMatchObject({ kind: "CREATED", noteId: note.id });
      const decided = logged().filter((l) => l.msg === "authorization decision" && l.user === aliceId && l.resource === `notes:${note.id}`);
      expect(decided).toEqual([
        expect.objectContaining({ level: DEBUG, action: "get", allow: true, attributes: { owner: bobId }, decisionId: expect.stringMatching(UUID), pdpMs: expect.any(Number) }),
      ]);
    } finally {
      await connection.dispose();
    }
  });
});

describe("x-authz-explain", () => {
  it("in development, explains each denial: what would have allowed it", async () => {
    const note = await createNote(alice, "explained");
    const error = theError(await api.gql(DeleteNoteDocument, { id: note.id }, bob, EXPLAIN));
    expect(error.extensions).toEqual(expect.objectContaining({ code: "FORBIDDEN", decisionId: expect.stringMatching(UUID) }));
    const explanation = error.extensions!.explanation as { decision: string; source: string; resource: string; tenantRoles: string[]; wouldAllow: { kind: string; text: string }[] };
    expect(explanation).toEqual(expect.objectContaining({ decision: "deny", source: "pdp-debug", resource: `notes:${note.id}`, tenantRoles: ["user"] }));
    // A personal note: a tenant role, the own_notes condition set, or a role given on the note itself.
    expect(explanation.wouldAllow.map((r) => r.text)).toEqual(["role admin", "role user and resource.owner == you", `manager on notes:${note.id}`]);
  });

  it("without the header a denial has no explanation", async () => {
    const note = await createNote(alice, "unexplained");
    const error = theError(await api.gql(DeleteNoteDocument, { id: note.id }, bob));
    expect(error.extensions).toEqual({ code: "FORBIDDEN", decisionId: expect.stringMatching(UUID) });
  });

  it("with the configuration production has (no explain header), the header is ignored", async () => {
    const production = await startTestApi({}, { configure: (c) => ({ ...c, authzExplainHeader: false }) });
    try {
      const a = await production.token("alice@example.com");
      const b = await production.token("bob@example.com");
      const created = await production.gql(CreateNoteDocument, { input: { title: "prod" } }, a);
      const error = theError(await production.gql(DeleteNoteDocument, { id: created.data!.createNote.id }, b, EXPLAIN));
      expect(error.extensions).toEqual({ code: "FORBIDDEN", decisionId: expect.stringMatching(UUID) });
    } finally {
      await production.stop();
    }
  });
});
