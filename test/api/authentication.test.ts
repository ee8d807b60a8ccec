import { readFile } from "node:fs/promises";
import path from "node:path";
import { importJWK, SignJWT, type JWK } from "jose";
import { print } from "graphql";
import {
  CreateNoteDocument,
  CreateWorkspaceDocument,
  DeleteNoteDocument,
  MeDocument,
  NoteDocument,
  NotesDocument,
  ShareWorkspaceDocument,
  UnshareWorkspaceDocument,
  UpdateNoteDocument,
  WorkspaceDocument,
  WorkspacesDocument,
} from "../generated/graphql";
import { codes, startTestApi, type TestApi } from "../support/api";

let api: TestApi;
let signingKey: { jwk: JWK; kid: string };

beforeAll(async () => {
  api = await startTestApi();
  await api.token("warmup@example.com");
  const file = JSON.parse(await readFile(path.join(api.dataDir, "dev-hanko", "signing-key.json"), "utf8")) as { privateJwk: JWK };
  signingKey = { jwk: file.privateJwk, kid: file.privateJwk.kid! };
});
afterAll(() => api.stop());

const ID = "00000000-0000-4000-8000-000000000001";
const uuid = () => crypto.randomUUID();

async function sign(claims: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> {
  const key = await importJWK(signingKey.jwk, "RS256");
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: signingKey.kid, typ: "JWT", ...header })
    .sign(key);
}

const now = () => Math.floor(Date.now() / 1000);
const sessionClaims = (overrides: Record<string, unknown> = {}) => ({
  sub: uuid(),
  session_id: uuid(),
  aud: ["notes-api"],
  iat: now(),
  exp: now() + 3600,
  email: { address: "claims@example.com", is_primary: true, is_verified: true },
  ...overrides,
});

describe("who may call", () => {
  const operations = [
    ["me", () => api.gql(MeDocument, {})],
    ["note", () => api.gql(NoteDocument, { id: ID })],
    ["notes", () => api.gql(NotesDocument, {})],
    ["workspace", () => api.gql(WorkspaceDocument, { id: ID })],
    ["workspaces", () => api.gql(WorkspacesDocument, {})],
    ["createNote", () => api.gql(CreateNoteDocument, { input: { title: "x" } })],
    ["updateNote", () => api.gql(UpdateNoteDocument, { id: ID, input: { title: "x" } })],
    ["deleteNote", () => api.gql(DeleteNoteDocument, { id: ID })],
    ["createWorkspace", () => api.gql(CreateWorkspaceDocument, { input: { name: "x" } })],
    ["shareWorkspace", () => api.gql(ShareWorkspaceDocument, { workspaceId: ID, email: "a@b.c", role: "VIEWER" })],
    ["unshareWorkspace", () => api.gql(UnshareWorkspaceDocument, { workspaceId: ID, userId: ID })],
  ] as const;

  it.each(operations)("anonymous %s → UNAUTHENTICATED", async (_name, run) => {
    const res = await run();
    expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
  });

  it("a valid dev token is accepted through the Authorization header", async () => {
    const token = await api.token("header@example.com");
    const res = await api.gql(MeDocument, {}, token);
    expect(res.status).toBe(200);
    expect(res.data?.me.email).toBe("header@example.com");
    expect(res.data?.me.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("the hanko cookie works when there is no Authorization header", async () => {
    const token = await api.token("cookie@example.com");
    const res = await api.gql(MeDocument, {}, undefined, { cookie: `theme=dark; hanko=${token}` });
    expect(res.data?.me.email).toBe("cookie@example.com");
  });

  it("the Authorization header wins over the cookie", async () => {
    const header = await api.token("wins@example.com");
    const cookie = await api.token("loses@example.com");
    const res = await api.gql(MeDocument, {}, header, { cookie: `hanko=${cookie}` });
    expect(res.data?.me.email).toBe("wins@example.com");
  });

  it("tokens are stable per email: the same sub every time", async () => {
    const a = await api.gql(MeDocument, {}, await api.token("Same@Example.com"));
    const b = await api.gql(MeDocument, {}, await api.token("same@example.com"));
    expect(a.data?.me.id).toBe(b.data?.me.id);
  });
});

describe("token battery over HTTP: every bad token is a 401 UNAUTHENTICATED", () => {
  const cases: [string, () => Promise<string>, string][] = [
    ["expired", () => sign(sessionClaims({ iat: now() - 7200, exp: now() - 3600 })), "token_expired"],
    ["not yet valid", () => sign(sessionClaims({ iat: now() + 600, nbf: now() + 600 })), "token_not_yet_valid"],
    ["wrong audience", () => sign(sessionClaims({ aud: ["another-app"] })), "bad_audience"],
    ["webhook token", () => sign({ sub: "hanko webhooks", evt: "user.create", data: {}, aud: ["notes-api"], iat: now(), exp: now() + 300 }), "not_a_session_token"],
    ["missing session_id", () => sign(sessionClaims({ session_id: undefined })), "not_a_session_token"],
    ["unknown kid", () => sign(sessionClaims(), { kid: "someone-else" }), "unknown_key"],
    ["garbage", async () => "not.a.jwt", "malformed_token"],
    [
      "tampered payload",
      async () => {
        const [h, p, s] = (await sign(sessionClaims())).split(".");
        const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
        payload.sub = uuid();
        return [h, Buffer.from(JSON.stringify(payload)).toString("base64url"), s].join(".");
      },
      "bad_signature",
    ],
    [
      "alg none",
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        return `${enc({ alg: "none", typ: "JWT" })}.${enc(sessionClaims())}.`;
      },
      "bad_algorithm",
    ],
  ];

  it.each(cases)("%s", async (_label, make, reason) => {
    const res = await api.gql(MeDocument, {}, await make());
    expect(res.status).toBe(401);
    expect(codes(res)).toEqual(["UNAUTHENTICATED"]);
    expect(res.errors![0]!.extensions!.reason).toBe(reason);
    expect(res.data ?? null).toBeNull();
  });

  it("a well-formed token signed by our key but shaped right is accepted (control)", async () => {
    const res = await api.gql(MeDocument, {}, await sign(sessionClaims()));
    expect(res.status).toBe(200);
    expect(res.data?.me.email).toBe("claims@example.com");
  });

  it("a malformed Authorization header is refused, not treated as anonymous", async () => {
    const res = await api.http("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Basic dXNlcjpwYXNz" },
      body: JSON.stringify({ query: print(MeDocument) }),
    });
    expect(res.status).toBe(401);
  });
});

describe("health", () => {
  it("/healthz and /readyz answer", async () => {
    expect((await api.http("/healthz")).status).toBe(200);
    const ready = await api.http("/readyz");
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: "ready", database: "up", pdp: "up" });
  });

  it("/metrics exposes Prometheus text", async () => {
    const res = await api.http("/metrics");
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).toContain("graphql_request_duration_seconds");
    expect(text).toMatch(/^permit_outbox_pending 0$/m);
  });
});
