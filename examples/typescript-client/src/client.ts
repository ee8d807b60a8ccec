/**
 * A small GraphQL client over plain `fetch`: typed by the documents codegen wrote to ./gql,
 * authenticated with `Authorization: Bearer <token>`, and reporting failures by `extensions.code`.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";

/** A GraphQL error the API answered with; `code` is its stable `extensions.code`. */
export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(`${code}: ${message}`);
    this.name = "ApiError";
  }
}

export interface ClientOptions {
  /** Where the API runs, e.g. `http://127.0.0.1:4000`. */
  url: string;
  /** A Hanko session token (or one from the dev issuer); anonymous without. */
  token?: string;
  /**
   * `id` sends only the document's id (`documentId: "sha256:…"`), for a server with
   * TRUSTED_DOCUMENTS; `text` sends the document itself, for a server without.
   */
  send?: "id" | "text";
}

export type Client = <R, V>(document: TypedDocumentNode<R, V>, variables: V) => Promise<R>;

/** The id codegen stored on each document (`presetConfig.persistedDocuments`). */
const documentIdOf = (document: object) => {
  const id = (document as { __meta__?: { hash?: string } }).__meta__?.hash;
  if (!id) throw new Error("This document has no id: generate it with presetConfig.persistedDocuments");
  return id;
};

/**
 * Signs in with the API's dev issuer (`npm start` without HANKO_API_URL) and returns a session
 * token. With real Hanko, the token comes from Hanko's sign-in instead (README, "Clients").
 */
export async function signInWithDevIssuer(url: string, email: string): Promise<string> {
  const response = await fetch(`${url}/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ email }),
  });
  if (!response.ok) throw new ApiError("SIGN_IN_FAILED", await response.text(), response.status);
  return ((await response.json()) as { token: string }).token;
}

/** A client that runs typed documents against `${url}/graphql`; the first error is thrown as an ApiError. */
export function createClient({ url, token, send = "text" }: ClientOptions): Client {
  return async <R, V>(document: TypedDocumentNode<R, V>, variables: V): Promise<R> => {
    const operation = send === "id" ? { documentId: documentIdOf(document) } : { query: print(document) };
    const response = await fetch(`${url}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/graphql-response+json, application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ ...operation, variables }),
    });
    const body = (await response.json().catch(() => ({}))) as {
      data?: unknown;
      errors?: { message: string; extensions?: { code?: string } }[];
    };
    const [error] = body.errors ?? [];
    if (error) throw new ApiError(error.extensions?.code ?? "UNKNOWN", error.message, response.status);
    if (!response.ok || body.data == null) throw new ApiError("HTTP_ERROR", `HTTP ${response.status}`, response.status);
    return body.data as R;
  };
}
