/**
 * A small GraphQL client over plain `fetch`: typed by the documents codegen wrote to ./gql,
 * authenticated with `Authorization: Bearer <token>`, and reporting failures by `extensions.code`.
 */
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { print } from "graphql";
import { createClient as createWsClient } from "graphql-ws";
import WebSocket from "ws";

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

export interface LiveClient {
  /**
   * Runs a subscription: `onData` gets each event's data, `onError` an ApiError (an error on the
   * stream, such as AUTHZ_UNAVAILABLE for an event that could not be authorized, or the refusal
   * of the subscription itself). Returns the function that ends it.
   */
  subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V, onData: (data: R) => void, onError?: (error: ApiError) => void): () => void;
  /** Closes the socket (and every subscription on it). */
  close(): Promise<void>;
}

/**
 * Subscriptions over WebSocket (the graphql-ws protocol on `${url}/graphql`), with the session
 * token in ConnectionInit. The socket opens with the first subscription and closes after the
 * last; if the server closes it with 4401 (expired or revoked session), sign in again.
 * In a browser, leave out `webSocketImpl` (the global WebSocket is used).
 */
export function createLiveClient({ url, token, send = "text" }: ClientOptions): LiveClient {
  const ws = createWsClient({
    url: `${url.replace(/^http/, "ws")}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
  });
  return {
    subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V, onData: (data: R) => void, onError?: (error: ApiError) => void) {
      // By id: the document's text stays on the server (TRUSTED_DOCUMENTS), named by its sha256.
      const operation =
        send === "id"
          ? { query: "", extensions: { persistedQuery: { version: 1, sha256Hash: documentIdOf(document).replace(/^sha256:/, "") } } }
          : { query: print(document) };
      const report = (error: { message?: string; extensions?: { code?: string } }) =>
        onError?.(new ApiError(String(error.extensions?.code ?? "UNKNOWN"), error.message ?? "subscription failed", 0));
      return ws.subscribe<R>(
        { ...operation, variables: variables as Record<string, unknown> },
        {
          next: (result) => {
            const [error] = result.errors ?? [];
            if (error) report(error);
            else if (result.data) onData(result.data as R);
          },
          error: (error) => {
            const first = Array.isArray(error) ? error[0] : error;
            report(first instanceof Error ? { message: first.message } : (first as { message?: string; extensions?: { code?: string } }));
          },
          complete: () => undefined,
        },
      );
    },
    close: async () => ws.dispose(),
  };
}
