/**
 * `POST /webhooks/hanko` against the real server: the token is verified as a Hanko webhook token
 * (and only as one), events change the database and reach the PDP through the outbox, replays
 * change nothing, and a deleted user's unexpired session token gets nothing.
 */
import { readFile, rm } from "node:fs/promises";
import path from "node:path";
import { SignJWT, importJWK, type JWK } from "jose";
import type { Permit } from "permitio";
import { createPermitClient } from "../../src/permit/client";
import { createLogger } from "../../src/common/logger";
import { DevHankoIssuer } from "../../src/dev/hanko-issuer";
import { startTestApi, type TestApi } from "../support/api";
import { databaseFacts, outboxSettled, pdpFacts } from "../support/pdp-state";

jest.setTimeout(60_000);

let api: TestApi;
let permit: Permit;

beforeAll(async () => {
  api = await startTestApi();
  permit = createPermitClient({ ...api.permit, timeoutMs: 2000 }, createLogger("silent"));
});
afterAll(() => api?.stop());

interface Gql {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response shapes are asserted, not typed
  data?: Record<string, any> | null;
  errors?: { message: string; extensions?: { code?: string; reason?: string } }[];
}

async function gql(query: string, variables: Record<string, unknown>, token?: string): Promise<Gql> {
  const res = await api.http("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, ...((await res.json()) as object) };
}
const ok = (r: Gql) => {
  expect(r.errors).toBeUndefined();
  return r.data!;
};
const codeOf = (r: Gql) => r.errors?.[0]?.extensions?.code;

async function webhookToken(event: string, email: string, primaryEmail?: string): Promise<string> {
  const res = await api.http("/dev/webhook-token", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ event, email, ...(primaryEmail ? { primaryEmail } : {}) }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { token: string }).token;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- response shapes are asserted, not typed
async function postWebhook(token: unknown, event = "user.delete"): Promise<{ status: number; body: any }> {
  const res = await api.http("/webhooks/hanko", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ token, event }) });
  return { status: res.status, body: await res.json() };
}

/** Signs arbitrary claims with the dev issuer's key (for expired and foreign-audience tokens). */
async function signRaw(claims: Record<string, unknown>, { aud = "notes-api", expOffsetSec = 300 } = {}): Promise<string> {
  const file = JSON.parse(await readFile(path.join(api.dataDir, "dev-hanko", "signing-key.json"), "utf8")) as { privateJwk: JWK };
  const key = await importJWK(file.privateJwk, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: file.privateJwk.kid!, typ: "JWT" })
    .setSubject("hanko webhooks")
    .setAudience([aud])
    .setIssuedAt(now - 600)
    .setExpirationTime(now + expOffsetSec)
    .sign(key);
}

const sql = <T>(text: string, params: unknown[] = []) => api.dataSource.query(text, params) as Promise<T[]>;
const settle = () => outboxSettled(sql, 15_000);

const ME = `{ me { id email roles } }`;
const CREATE_WORKSPACE = `mutation($name: String!) { createWorkspace(input: { name: $name }) { id } }`;
const SHARE = `mutation($w: ID!, $email: String!, $role: WorkspaceRole!) { shareWorkspace(workspaceId: $w, email: $email, role: $role) { role } }`;
const CREATE_NOTE = `mutation($title: String!, $w: ID) { createNote(input: { title: $title, workspaceId: $w }) { id } }`;
const NOTE = `query($id: ID!) { note(id: $id) { id } }`;

describe("webhook token verification", () => {
  it("accepts a webhook token and ignores an event it does not handle (2xx)", async () => {
    const res = await postWebhook(await webhookToken("user.login", "login@example.com"), "user.login");
    expect(res).toEqual({ status: 200, body: { handled: false, event: "user.login", ignored: "unknown_event" } });
  });

  it("trusts the signed evt claim, not the unsigned event field", async () => {
    await gql(ME, {}, await api.token("evt@example.com"));
    const res = await postWebhook(await webhookToken("user.login", "evt@example.com"), "user.delete");
    expect(res.body).toMatchObject({ handled: false, event: "user.login" });
    expect(await sql(`SELECT deleted_at FROM users WHERE email = 'evt@example.com'`)).toEqual([{ deleted_at: null }]);
  });

  it("refuses a session token with 401 (not a webhook token), and a webhook token is refused as a session", async () => {
    const session = await api.token("session@example.com");
    const res = await postWebhook(session);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: "UNAUTHENTICATED", reason: "not_a_webhook_token" });
    const asSession = await gql(ME, {}, await webhookToken("user.delete", "session@example.com"));
    expect(asSession.status).toBe(401);
    expect(asSession.errors?.[0]?.extensions?.reason).toBe("not_a_session_token");
  });

  it("refuses an expired webhook token, one for another audience, a forged one and garbage with 401", async () => {
    const data = { id: "3f8c2f4e-7d8a-4a55-9a33-0f6bb7b7c001", emails: [] };
    const expired = await signRaw({ evt: "user.delete", data }, { expOffsetSec: -120 });
    expect((await postWebhook(expired)).body.error.reason).toBe("token_expired");
    const foreign = await signRaw({ evt: "user.delete", data }, { aud: "another-api" });
    expect((await postWebhook(foreign)).body.error.reason).toBe("bad_audience");
    // The same claims, still valid: accepted (the pair of the refusals above).
    expect((await postWebhook(await signRaw({ evt: "user.delete", data }))).status).toBe(200);
    const other = await DevHankoIssuer.load({ dataDir: `${api.dataDir}-other`, audience: "notes-api" });
    const forged = await other.issueUserWebhookToken({ event: "user.delete", email: "victim@example.com" });
    await rm(`${api.dataDir}-other`, { recursive: true, force: true });
    expect((await postWebhook(forged)).status).toBe(401);
    for (const bad of ["not-a-jwt", "a.b.c"]) expect((await postWebhook(bad)).status).toBe(401);
    expect((await postWebhook(await signRaw({ evt: "user.delete" }))).status).toBe(401); // no data claim
    expect((await postWebhook(undefined)).status).toBe(400);
  });
});

describe("user.delete", () => {
  it("removes the user's access, personal notes and Permit user; workspace notes stay, admins manage the orphan; replays change nothing", async () => {
    const bob = await api.token("bob.del@example.com");
    const alice = await api.token("alice.del@example.com");
    const carol = await api.token("carol.del@example.com");
    const dave = await api.token("dave.del@example.com");
    const [bobId, aliceId, carolId] = [ok(await gql(ME, {}, bob)).me.id, ok(await gql(ME, {}, alice)).me.id, ok(await gql(ME, {}, carol)).me.id];
    ok(await gql(ME, {}, dave));
    await permit.api.users.update(bobId, { attributes: { plan: "premium" } });
    await permit.api.roleAssignments.assign({ user: carolId, role: "admin", tenant: "default" });

    const w = ok(await gql(CREATE_WORKSPACE, { name: "Orphan" }, bob)).createWorkspace.id as string;
    ok(await gql(SHARE, { w, email: "alice.del@example.com", role: "EDITOR" }, bob));
    const bobPersonal = ok(await gql(CREATE_NOTE, { title: "bob personal" }, bob)).createNote.id as string;
    const bobInWorkspace = ok(await gql(CREATE_NOTE, { title: "bob in w", w }, bob)).createNote.id as string;
    const aliceInWorkspace = ok(await gql(CREATE_NOTE, { title: "alice in w", w }, alice)).createNote.id as string;
    const alicePersonal = ok(await gql(CREATE_NOTE, { title: "alice personal" }, alice)).createNote.id as string;

    const hook = await webhookToken("user.delete", "bob.del@example.com");
    const res = await postWebhook(hook);
    expect(res).toEqual({ status: 200, body: { handled: true, event: "user.delete", action: "user_deleted" } });

    // The old, unexpired session token gets nothing, at once.
    const refused = await gql(ME, {}, bob);
    expect(refused.status).toBe(401);
    expect(refused.errors?.[0]?.extensions).toMatchObject({ code: "UNAUTHENTICATED", reason: "user_deleted" });
    // A new token for the same Hanko id is refused too: first sight never recreates a deleted user.
    expect((await gql(ME, {}, await api.token("bob.del@example.com"))).errors?.[0]?.extensions?.reason).toBe("user_deleted");
    // Alice is not affected (the pair).
    ok(await gql(ME, {}, alice));

    expect(await sql(`SELECT email, deleted_at IS NOT NULL AS deleted FROM users WHERE id = $1`, [bobId])).toEqual([{ email: null, deleted: true }]);
    expect(await sql(`SELECT id FROM notes WHERE id = ANY($1::uuid[]) ORDER BY title`, [[bobPersonal, bobInWorkspace, aliceInWorkspace, alicePersonal]])).toEqual(
      expect.arrayContaining([{ id: bobInWorkspace }, { id: aliceInWorkspace }, { id: alicePersonal }]),
    );
    expect(await sql(`SELECT id FROM notes WHERE id = $1`, [bobPersonal])).toEqual([]);
    expect(await sql(`SELECT user_id, role FROM workspace_members WHERE workspace_id = $1`, [w])).toEqual([{ user_id: aliceId, role: "EDITOR" }]);
    expect(await sql(`SELECT owner_id FROM workspaces WHERE id = $1`, [w])).toEqual([{ owner_id: bobId }]);

    await settle();
    expect(await pdpFacts(permit)).toEqual(await databaseFacts(sql));
    await expect(permit.api.users.get(bobId)).rejects.toMatchObject({ response: { status: 404 } });
    expect((await permit.api.roleAssignments.list({ user: bobId })).length).toBe(0);

    // Workspace notes are still readable by the remaining member; the deleted personal note is gone.
    ok(await gql(NOTE, { id: bobInWorkspace }, alice));
    expect(codeOf(await gql(NOTE, { id: bobPersonal }, carol))).toBe("NOT_FOUND");
    // Only admins manage the orphaned workspace: the editor may not share, a stranger may not see it, carol (admin) may.
    expect(codeOf(await gql(SHARE, { w, email: "dave.del@example.com", role: "VIEWER" }, alice))).toBe("FORBIDDEN");
    expect(codeOf(await gql(SHARE, { w, email: "alice.del@example.com", role: "OWNER" }, dave))).toBe("NOT_FOUND");
    expect(ok(await gql(SHARE, { w, email: "alice.del@example.com", role: "OWNER" }, carol)).shareWorkspace.role).toBe("OWNER");
    // Nobody can share with the deleted user's old address.
    expect(codeOf(await gql(SHARE, { w, email: "bob.del@example.com", role: "VIEWER" }, carol))).toBe("NOT_FOUND");

    // Replays are idempotent: same answer shape, no new facts, nothing changes.
    const [before] = (await sql(`SELECT count(*)::int AS n FROM permit_outbox`)) as { n: number }[];
    for (let i = 0; i < 2; i++) expect((await postWebhook(hook)).body).toMatchObject({ handled: true, action: "already_deleted" });
    const [after] = (await sql(`SELECT count(*)::int AS n FROM permit_outbox`)) as { n: number }[];
    expect(after!.n).toBe(before!.n);
    await settle();
    expect(await pdpFacts(permit)).toEqual(await databaseFacts(sql));
  });

  it("tombstones a user never seen here, so their first request is refused", async () => {
    const res = await postWebhook(await webhookToken("user.delete", "never.seen@example.com"));
    expect(res.body).toMatchObject({ handled: true, action: "user_deleted" });
    const r = await gql(ME, {}, await api.token("never.seen@example.com"));
    expect(r.errors?.[0]?.extensions?.reason).toBe("user_deleted");
    await settle();
  });
});

describe("user.update.email.primary", () => {
  it("refreshes the stored email (and Permit's); older session tokens do not overwrite it", async () => {
    const erin = await api.token("erin.old@example.com");
    const owner = await api.token("owner.mail@example.com");
    const erinId = ok(await gql(ME, {}, erin)).me.id as string;
    const ownerId = ok(await gql(ME, {}, owner)).me.id as string;
    await permit.api.users.update(ownerId, { attributes: { plan: "premium" } });
    const w = ok(await gql(CREATE_WORKSPACE, { name: "Mail" }, owner)).createWorkspace.id as string;

    const hook = await webhookToken("user.update.email.primary", "erin.old@example.com", "erin.new@example.com");
    expect((await postWebhook(hook, "user.update.email.primary")).body).toMatchObject({ handled: true, action: "email_updated" });
    expect(await sql(`SELECT email FROM users WHERE id = $1`, [erinId])).toEqual([{ email: "erin.new@example.com" }]);
    // Sharing finds erin by the new address, not by the old one.
    expect(ok(await gql(SHARE, { w, email: "erin.new@example.com", role: "VIEWER" }, owner)).shareWorkspace.role).toBe("VIEWER");
    expect(codeOf(await gql(SHARE, { w, email: "erin.old@example.com", role: "VIEWER" }, owner))).toBe("NOT_FOUND");
    // The old session token (email claim erin.old, issued before the webhook) does not bring the old address back.
    await new Promise((r) => setTimeout(r, 10));
    ok(await gql(ME, {}, erin));
    expect(await sql(`SELECT email FROM users WHERE id = $1`, [erinId])).toEqual([{ email: "erin.new@example.com" }]);
    await settle();
    expect((await permit.api.users.get(erinId)).email).toBe("erin.new@example.com");
    // Replay: nothing new.
    expect((await postWebhook(hook)).body).toMatchObject({ handled: true, action: "email_unchanged" });
  });
});

describe("lazy re-sync", () => {
  it("syncs a user again when Permit lost them, but never re-grants a role taken away by hand", async () => {
    const fay = await api.token("fay.resync@example.com");
    const fayId = ok(await gql(ME, {}, fay)).me.id as string;
    await permit.api.users.delete(fayId);
    // The evidence: the PDP lists no tenant role. One REST read finds the user missing; they are synced again.
    expect(ok(await gql(ME, {}, fay)).me.roles).toEqual(["user"]);
    expect((await permit.api.users.get(fayId)).email).toBe("fay.resync@example.com");
    ok(await gql(CREATE_NOTE, { title: "after re-sync" }, fay));

    const gus = await api.token("gus.resync@example.com");
    const gusId = ok(await gql(ME, {}, gus)).me.id as string;
    await permit.api.roleAssignments.unassign({ user: gusId, role: "user", tenant: "default" });
    // The user still exists in Permit: the role removed by hand stays removed.
    expect(ok(await gql(ME, {}, gus)).me.roles).toEqual([]);
    expect(ok(await gql(ME, {}, gus)).me.roles).toEqual([]);
    expect(codeOf(await gql(CREATE_NOTE, { title: "no role" }, gus))).toBe("FORBIDDEN");
  });
});
