/**
 * A real WebSocket client for the API's subscriptions (graphql-ws's `createClient` over `ws`),
 * with the helpers the tests need: wait for the next message of a subscription, assert that
 * none comes within a while, and see how the socket was closed.
 */
import { print } from "graphql";
import { createClient, type Client, type ExecutionResult } from "graphql-ws";
import WebSocket from "ws";
import { NoteEventsDocument, type NoteEventsSubscription } from "../generated/graphql";

export const wsUrlOf = (httpUrl: string) => `${httpUrl.replace(/^http/, "ws")}/graphql`;

export interface Closed {
  code: number;
  reason: string;
}

export interface WsConnection {
  client: Client;
  /** Resolves with the close event once the socket closes. */
  closed: Promise<Closed>;
  /** Resolves once ConnectionAck was received (rejects if the socket closed first). */
  acknowledged: Promise<void>;
  dispose(): Promise<void>;
}

/** Connects with `authorization: Bearer <token>` in ConnectionInit (or nothing, or `headers` such as a cookie). */
export function connect(httpUrl: string, token: string | null, options: { headers?: Record<string, string> } = {}): WsConnection {
  let resolveClosed!: (c: Closed) => void;
  const closed = new Promise<Closed>((resolve) => (resolveClosed = resolve));
  let ack!: () => void;
  let fail!: (error: Error) => void;
  const acknowledged = new Promise<void>((resolve, reject) => ((ack = resolve), (fail = reject)));
  acknowledged.catch(() => undefined);
  const headers = options.headers;
  class HeaderedWebSocket extends WebSocket {
    constructor(address: string, protocols?: string | string[]) {
      super(address, protocols, headers ? { headers } : {});
    }
  }
  const client = createClient({
    url: wsUrlOf(httpUrl),
    webSocketImpl: HeaderedWebSocket,
    lazy: false,
    retryAttempts: 0,
    connectionParams: token === null ? undefined : { authorization: `Bearer ${token}` },
    onNonLazyError: () => undefined,
    on: {
      connected: () => ack(),
      closed: (event) => {
        const { code, reason } = event as { code: number; reason: string | Buffer };
        resolveClosed({ code, reason: String(reason) });
        fail(new Error(`closed with ${code} ${String(reason)}`));
      },
    },
  });
  return { client, closed, acknowledged, dispose: () => client.dispose() as Promise<void> };
}

export interface Subscription<T> {
  /** Every result received so far, in order. */
  readonly results: ExecutionResult<T>[];
  /** The next result not yet taken, waiting up to `timeoutMs`. */
  next(timeoutMs?: number): Promise<ExecutionResult<T>>;
  /** Fails if a result arrives within `ms`. */
  expectNothingFor(ms: number): Promise<void>;
  /** Resolves when the server completes the subscription or sends an Error message (its errors). */
  ended: Promise<readonly unknown[] | null>;
  unsubscribe(): void;
}

export function subscribe<T = Record<string, unknown>>(client: Client, query: string, variables: Record<string, unknown> = {}): Subscription<T> {
  const results: ExecutionResult<T>[] = [];
  let taken = 0;
  const waiters: (() => void)[] = [];
  let end!: (errors: readonly unknown[] | null) => void;
  const ended = new Promise<readonly unknown[] | null>((resolve) => (end = resolve));
  const unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        results.push(result as ExecutionResult<T>);
        waiters.splice(0).forEach((w) => w());
      },
      error: (error) => end(Array.isArray(error) ? error : [error]),
      complete: () => end(null),
    },
  );
  const next = async (timeoutMs = 5000): Promise<ExecutionResult<T>> => {
    const deadline = Date.now() + timeoutMs;
    while (results.length <= taken) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no subscription result within ${timeoutMs} ms (received ${results.length})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        waiters.push(() => (clearTimeout(timer), resolve()));
      });
    }
    return results[taken++]!;
  };
  return {
    results,
    next,
    async expectNothingFor(ms: number) {
      const before = results.length;
      await new Promise((resolve) => setTimeout(resolve, ms));
      if (results.length > before) throw new Error(`unexpected subscription result: ${JSON.stringify(results.slice(before))}`);
    },
    ended,
    unsubscribe,
  };
}

/** Polls until `condition` holds (the server has no "subscribed" acknowledgement in the protocol). */
export async function waitFor(condition: () => boolean, timeoutMs = 5000, what = "condition"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A raw WebSocket speaking `graphql-transport-ws`, for protocol violations the client library would not send. */
export async function rawSocket(httpUrl: string, headers: Record<string, string> = {}): Promise<{ socket: WebSocket; closed: Promise<Closed>; messages: unknown[] }> {
  const socket = new WebSocket(wsUrlOf(httpUrl), "graphql-transport-ws", { headers });
  const messages: unknown[] = [];
  socket.on("message", (data) => messages.push(JSON.parse(String(data))));
  const closed = new Promise<Closed>((resolve) => socket.on("close", (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    socket.once("open", () => resolve());
    socket.once("error", reject);
  });
  return { socket, closed, messages };
}

/** The `NoteEvents` subscription of test/operations/notes.graphql, as the text `subscribe` sends, and its result. */
export const NOTE_EVENTS = print(NoteEventsDocument);
export type NoteEventsResult = NoteEventsSubscription;
