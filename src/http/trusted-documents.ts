/**
 * Trusted documents (a safelist of persisted operations): with `TRUSTED_DOCUMENTS` set, the
 * GraphQL route runs only the documents of that manifest. A Fastify preHandler resolves each
 * request to a listed text before Apollo sees it, so Apollo only ever parses listed text:
 *
 * - `documentId: "sha256:<hex>"` (GraphQL over HTTP, POST body or GET parameter), or Apollo's
 *   `extensions.persistedQuery.sha256Hash` without a query: the stored text is put in `query`;
 *   an id that is not listed answers 400 PERSISTED_QUERY_NOT_FOUND.
 * - `query` (with or without an id): its sha256 must be listed, and equal the id when one is
 *   sent; otherwise 400 UNTRUSTED_DOCUMENT.
 *
 * The id fields are removed once resolved, and Apollo's own APQ cache is turned off by the
 * server when this runs, so registering a query through APQ cannot widen the list.
 */
import { createHash } from "node:crypto";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ErrorCode } from "../common/errors";
import type { TrustedDocuments } from "../config";

/** The GraphQL-over-HTTP persisted document id: `sha256:` and the hex digest of the text. */
const DOCUMENT_ID = /^sha256:([0-9a-fA-F]{64})$/;
const HASH = /^[0-9a-fA-F]{64}$/;

type Params = Record<string, unknown>;

type Refusal = { query?: undefined; code: ErrorCode; message: string; status: number };
/** The text to run; a refusal; or null when the request names no document (Apollo answers that itself). */
type Resolution = { query: string } | Refusal | null;

export const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * Decides which listed text a request runs.
 *
 * @param documents the manifest loaded at boot
 * @param params the request's GraphQL parameters (POST body or GET query); `extensions` parsed
 * @returns the text to run, the error to answer with, or null when nothing is named
 */
export function resolveTrustedDocument(documents: TrustedDocuments, params: Params): Resolution {
  const { documentId, query } = params;
  const extensions = params.extensions as { persistedQuery?: { sha256Hash?: unknown } } | undefined;
  const apqHash = extensions?.persistedQuery?.sha256Hash;

  let id: string | undefined;
  if (documentId !== undefined) {
    const match = typeof documentId === "string" ? DOCUMENT_ID.exec(documentId) : null;
    if (!match) return notFound('Document ids look like "sha256:<64 hex digits>".');
    id = match[1].toLowerCase();
  } else if (apqHash !== undefined) {
    if (typeof apqHash !== "string" || !HASH.test(apqHash)) return notFound("persistedQuery.sha256Hash must be 64 hex digits.");
    id = apqHash.toLowerCase();
  }

  if (typeof query === "string" && query !== "") {
    const hash = sha256Hex(query);
    if (!documents.byHash.has(hash)) return untrusted("This server runs trusted documents only, and this document is not one of them.");
    if (id !== undefined && id !== hash) return untrusted("The document sent does not match its id.");
    return { query };
  }
  if (id === undefined) return null;
  const text = documents.byHash.get(id);
  return text === undefined ? notFound(`No trusted document has the id sha256:${id}.`) : { query: text };
}

const notFound = (message: string): Refusal => ({ code: ErrorCode.PERSISTED_QUERY_NOT_FOUND, message, status: 400 });
const untrusted = (message: string): Refusal => ({ code: ErrorCode.UNTRUSTED_DOCUMENT, message, status: 400 });

function refuse(reply: FastifyReply, resolution: Refusal) {
  return reply
    .code(resolution.status)
    .header("cache-control", "private, no-cache, must-revalidate")
    .send({ errors: [{ message: resolution.message, extensions: { code: resolution.code } }] });
}

/** The request's `extensions` as an object: GET sends it as JSON text. Undefined when absent or unreadable. */
function parseExtensions(raw: unknown): unknown {
  if (typeof raw !== "string") return raw;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** Without the id fields, so Apollo sees a plain `query` and never consults its APQ cache. */
function withoutIds(extensions: unknown): Record<string, unknown> | undefined {
  if (typeof extensions !== "object" || extensions === null) return undefined;
  const { persistedQuery: _persisted, ...rest } = extensions as Record<string, unknown>;
  return Object.keys(rest).length > 0 ? rest : undefined;
}

/**
 * Registers the safelist on `graphqlPath` (call before the route is added).
 *
 * @param app the Fastify instance that serves GraphQL
 * @param documents the manifest loaded at boot (`config.trustedDocuments`)
 * @param graphqlPath the GraphQL route
 */
export function registerTrustedDocuments(app: FastifyInstance, documents: TrustedDocuments, graphqlPath: string): void {
  app.addHook("preHandler", async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.routeOptions.url !== graphqlPath) return;

    if (request.method === "POST") {
      const body = request.body;
      // Apollo refuses batches and non-object bodies itself; nothing in them can run unlisted text.
      if (typeof body !== "object" || body === null || Array.isArray(body)) return;
      const params = body as Params;
      const resolution = resolveTrustedDocument(documents, params);
      if (resolution === null) return;
      if (resolution.query === undefined) return refuse(reply, resolution);
      const { documentId: _id, extensions, ...rest } = params;
      const kept = withoutIds(extensions);
      request.body = { ...rest, query: resolution.query, ...(kept ? { extensions: kept } : {}) };
      return;
    }

    if (request.method === "GET") {
      const url = new URL(request.url, "http://localhost");
      const search = url.searchParams;
      // A page request without parameters (the explorer redirect) is not an operation.
      if (!search.has("query") && !search.has("documentId") && !search.has("extensions")) return;
      const extensions = parseExtensions(search.get("extensions") ?? undefined);
      const params: Params = {
        query: search.get("query") ?? undefined,
        documentId: search.get("documentId") ?? undefined,
        extensions,
      };
      const resolution = resolveTrustedDocument(documents, params);
      if (resolution === null) return;
      if (resolution.query === undefined) return refuse(reply, resolution);
      search.delete("documentId");
      search.set("query", resolution.query);
      const kept = withoutIds(extensions);
      if (kept) search.set("extensions", JSON.stringify(kept));
      else search.delete("extensions");
      // Apollo's Fastify integration reads GET parameters from the raw URL.
      request.raw.url = `${url.pathname}?${search.toString()}`;
    }
  });
}
