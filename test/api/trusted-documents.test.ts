import { createHash } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { print } from "graphql";
import { CreateNoteDocument, MeDocument } from "../generated/graphql";
import { startTestApi, type TestApi } from "../support/api";

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");
const ME = print(MeDocument);
const CREATE_NOTE = print(CreateNoteDocument);
const UNLISTED = "query Unlisted { me { id email } }";

interface Answer {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

const post = async (api: TestApi, body: unknown, token?: string): Promise<Answer> => {
  const response = await api.http("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, "status">) };
};

const get = async (api: TestApi, params: Record<string, string>, token: string): Promise<Answer> => {
  const response = await api.http(`/graphql?${new URLSearchParams(params).toString()}`, {
    headers: { authorization: `Bearer ${token}`, "apollo-require-preflight": "1" },
  });
  return { status: response.status, ...((await response.json()) as Omit<Answer, "status">) };
};

const apq = (hash: string) => ({ persistedQuery: { version: 1, sha256Hash: hash } });
const codesOf = (answer: Answer) => (answer.errors ?? []).map((e) => e.extensions?.code);
const meOf = (answer: Answer) => (answer.data?.me as { email?: string } | undefined)?.email;

describe("trusted documents (TRUSTED_DOCUMENTS set)", () => {
  let api: TestApi;
  let dir: string;
  let alice: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "notes-api-trusted-"));
    const manifest = path.join(dir, "trusted-documents.json");
    await writeFile(manifest, JSON.stringify({ [sha256(ME)]: ME, [sha256(CREATE_NOTE)]: CREATE_NOTE }));
    api = await startTestApi({ TRUSTED_DOCUMENTS: manifest });
    alice = await api.token("alice@example.com");
  });
  afterAll(async () => {
    await api.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("runs a listed document by its id, in a POST body and as a GET parameter", async () => {
    const byPost = await post(api, { documentId: `sha256:${sha256(ME)}` }, alice);
    expect(byPost.status).toBe(200);
    expect(byPost.errors).toBeUndefined();
    expect(meOf(byPost)).toBe("alice@example.com");

    const byGet = await get(api, { documentId: `sha256:${sha256(ME)}` }, alice);
    expect(byGet.status).toBe(200);
    expect(meOf(byGet)).toBe("alice@example.com");
  });

  it("runs a listed mutation by id with its variables", async () => {
    const created = await post(api, { documentId: `sha256:${sha256(CREATE_NOTE)}`, variables: { input: { title: "by id" } } }, alice);
    expect(created.errors).toBeUndefined();
    expect(created.data?.createNote).toMatchObject({ title: "by id", version: 1 });
  });

  it("runs a listed document by Apollo's APQ hash, with or without the query", async () => {
    const hashOnly = await post(api, { extensions: apq(sha256(ME)) }, alice);
    expect(hashOnly.status).toBe(200);
    expect(meOf(hashOnly)).toBe("alice@example.com");

    const withQuery = await post(api, { query: ME, extensions: apq(sha256(ME)) }, alice);
    expect(withQuery.status).toBe(200);
    expect(meOf(withQuery)).toBe("alice@example.com");

    const byGet = await get(api, { extensions: JSON.stringify(apq(sha256(ME))) }, alice);
    expect(meOf(byGet)).toBe("alice@example.com");
  });

  it("runs a listed document sent as its full text", async () => {
    const answer = await post(api, { query: ME }, alice);
    expect(answer.status).toBe(200);
    expect(meOf(answer)).toBe("alice@example.com");
    expect(meOf(await get(api, { query: ME }, alice))).toBe("alice@example.com");
  });

  it("answers 400 PERSISTED_QUERY_NOT_FOUND for an id that is not listed", async () => {
    for (const answer of [
      await post(api, { documentId: `sha256:${sha256(UNLISTED)}` }, alice),
      await post(api, { documentId: "md5:0123" }, alice),
      await post(api, { extensions: apq(sha256(UNLISTED)) }, alice),
      await get(api, { documentId: `sha256:${sha256(UNLISTED)}` }, alice),
    ]) {
      expect(answer.status).toBe(400);
      expect(codesOf(answer)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
      expect(answer.data).toBeUndefined();
    }
  });

  it("answers 400 UNTRUSTED_DOCUMENT for text that is not listed, however it is sent", async () => {
    for (const answer of [
      await post(api, { query: UNLISTED }, alice),
      await post(api, { query: `${ME} ` }, alice), // one character off is another document
      await get(api, { query: UNLISTED }, alice),
      // A listed id does not carry other text in with it.
      await post(api, { query: UNLISTED, documentId: `sha256:${sha256(ME)}` }, alice),
      await post(api, { query: UNLISTED, extensions: apq(sha256(ME)) }, alice),
    ]) {
      expect(answer.status).toBe(400);
      expect(codesOf(answer)).toEqual(["UNTRUSTED_DOCUMENT"]);
      expect(answer.data).toBeUndefined();
    }
  });

  it("never lets Apollo's APQ cache register a document", async () => {
    const register = await post(api, { query: UNLISTED, extensions: apq(sha256(UNLISTED)) }, alice);
    expect(codesOf(register)).toEqual(["UNTRUSTED_DOCUMENT"]);
    const replay = await post(api, { extensions: apq(sha256(UNLISTED)) }, alice);
    expect(replay.status).toBe(400);
    expect(codesOf(replay)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
  });

  it("leaves a request that names no document to Apollo", async () => {
    const answer = await post(api, { variables: {} }, alice);
    expect(answer.status).toBe(400);
    expect(codesOf(answer)).toEqual(["BAD_REQUEST"]);
  });
});

describe("trusted documents (TRUSTED_DOCUMENTS unset)", () => {
  let api: TestApi;
  let alice: string;

  beforeAll(async () => {
    api = await startTestApi();
    alice = await api.token("alice@example.com");
  });
  afterAll(() => api.stop());

  it("runs any valid operation, and Apollo's APQ works as before", async () => {
    expect(meOf(await post(api, { query: UNLISTED }, alice))).toBe("alice@example.com");

    const unknown = await post(api, { extensions: apq(sha256(UNLISTED)) }, alice);
    expect(codesOf(unknown)).toEqual(["PERSISTED_QUERY_NOT_FOUND"]);
    await post(api, { query: UNLISTED, extensions: apq(sha256(UNLISTED)) }, alice);
    expect(meOf(await post(api, { extensions: apq(sha256(UNLISTED)) }, alice))).toBe("alice@example.com");
  });
});
