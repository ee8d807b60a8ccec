/**
 * GraphQL subscriptions over WebSocket: the graphql-ws protocol (subprotocol
 * `graphql-transport-ws`) on the same port and path as the HTTP endpoint.
 *
 * - ConnectionInit carries the session token (`{"authorization": "Bearer …"}`), or the upgrade
 *   request has the `hanko` cookie; it goes through the same verifier and first sight as HTTP.
 *   No or an invalid token closes with 4401; a payload that is not an object with 4400.
 * - A session from the cookie is accepted only from the API's own origin or one listed in
 *   `CORS_ORIGINS` (else 4403, before any GraphQL message): browsers send cookies on a WebSocket
 *   handshake to any site without a CORS check, so without this any page that the cookie reaches
 *   could subscribe as its owner. A payload token is the client's own choice, so it works from
 *   any origin or none; with both, the payload token decides and the cookie is ignored.
 * - An open connection is closed with 4401 when its token expires (at `exp` plus the verifier's
 *   clock tolerance) and when its session no longer verifies (checked every
 *   `sessionRecheckMs`, which with `HANKO_SESSION_CHECK=remote` asks Hanko: revocation).
 * - Limits: connections per user (one more: 4403), subscriptions per connection (one more:
 *   an Error message with RATE_LIMITED, the socket stays open), message size (`maxPayload`:
 *   1009), handshake time (4408). graphql-ws closes with 4400 on a malformed message, 4401 on
 *   a Subscribe before ConnectionAck and 4429 on a second ConnectionInit.
 * - Only subscriptions run here (queries and mutations go over HTTP, with its rate limits and
 *   cost limits); the depth limit and the trusted documents apply as on HTTP.
 */
import type { IncomingMessage, Server } from "node:http";
import type { Duplex } from "node:stream";
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type ExecutionResult, type GraphQLFormattedError, type GraphQLSchema } from "graphql";
import { CloseCode, GRAPHQL_TRANSPORT_WS_PROTOCOL, type Context as WsContext, type SubscribePayload } from "graphql-ws";
import { useServer, type Extra } from "graphql-ws/use/ws";
import { WebSocketServer, type WebSocket } from "ws";
import { extractSessionToken } from "../auth/extract-token";
import type { Principal } from "../auth/principal";
import type { VerifyOptions } from "../auth/session-verifier";
import { ErrorCode, isAppError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { SubscriptionsConfig, TrustedDocuments } from "../config";
import type { RequestContext } from "../graphql/context";
import type { NoteEventSource } from "../live/note-event-hub";
import { depthLimit } from "./graphql-limits";
import { resolveTrustedDocument } from "./trusted-documents";

export interface SubscriptionServerDeps {
  server: Server;
  path: string;
  schema: GraphQLSchema;
  limits: SubscriptionsConfig;
  maxDepth: number;
  /** Origins besides the API's own whose pages may subscribe with the `hanko` cookie (`CORS_ORIGINS`). */
  cookieOrigins: readonly string[];
  trustedDocuments?: TrustedDocuments;
  /** The one way from a token to a caller (http/context.ts). */
  principalFromToken(token: string, options?: VerifyOptions): Promise<Principal>;
  /** A subscription's context for a verified caller (http/context.ts). */
  contextFor(principal: Principal, logger: Logger): RequestContext;
  /** The verifier's clock tolerance on `exp`, in seconds (read when a connection opens). */
  clockToleranceSec(): number;
  noteEvents: NoteEventSource;
  formatError(formatted: GraphQLFormattedError, error: unknown): GraphQLFormattedError;
  logger: Logger;
}

export interface SubscriptionServer {
  /** Open connections that completed ConnectionInit. */
  readonly connections: number;
  /** Closes every connection (1001, going away) and stops accepting new ones. */
  close(): Promise<void>;
}

interface Connection {
  principal: Principal;
  token: string;
  logger: Logger;
  /** Pending timers (expiry, next re-check); each removes itself when it fires. */
  timers: Set<NodeJS.Timeout>;
  /** Made at the first Subscribe. */
  context?: RequestContext;
}

type ConnectionContext = WsContext<Record<string, unknown> | undefined, Extra>;

/** setTimeout's longest delay; a later expiry is re-armed when it comes. */
const MAX_TIMER_MS = 2_147_483_647;

export function attachSubscriptions(deps: SubscriptionServerDeps): SubscriptionServer {
  const { limits, logger } = deps;
  const connections = new WeakMap<WebSocket, Connection>();
  const perUser = new Map<string, number>();
  let open = 0;

  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: limits.maxMessageBytes,
    // graphql-ws closes a socket without its subprotocol with 4406 itself.
    handleProtocols: (protocols) => (protocols.has(GRAPHQL_TRANSPORT_WS_PROTOCOL) ? GRAPHQL_TRANSPORT_WS_PROTOCOL : false),
  });

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const pathname = new URL(request.url ?? "/", "http://localhost").pathname;
    if (pathname !== deps.path) {
      socket.end("HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => wss.emit("connection", ws, request));
  };
  deps.server.on("upgrade", onUpgrade);

  const closeWith = (ctx: ConnectionContext, code: number, reason: string): false => {
    ctx.extra.socket.close(code, reason);
    return false;
  };

  const release = (socket: WebSocket) => {
    const connection = connections.get(socket);
    if (!connection) return;
    connections.delete(socket);
    open -= 1;
    connection.timers.forEach(clearTimeout);
    connection.timers.clear();
    const left = (perUser.get(connection.principal.userId) ?? 1) - 1;
    if (left > 0) perUser.set(connection.principal.userId, left);
    else perUser.delete(connection.principal.userId);
  };

  /** Ends the connection when its token expires, and whenever its session stops verifying. */
  const watch = (socket: WebSocket, connection: Connection) => {
    const { principal } = connection;
    const later = (run: () => void, ms: number) => {
      const timer = setTimeout(() => {
        connection.timers.delete(timer);
        run();
      }, ms);
      connection.timers.add(timer);
    };
    if (principal.expiresAt !== undefined) {
      const closeAt = (principal.expiresAt + deps.clockToleranceSec()) * 1000;
      const arm = () => {
        const wait = closeAt - Date.now();
        if (wait <= 0) return socket.close(CloseCode.Unauthorized, "The session token has expired");
        later(arm, Math.min(wait, MAX_TIMER_MS));
      };
      arm();
    }
    const recheck = async () => {
      try {
        // Fresh: a cached "valid" from Hanko could be as old as the interval itself.
        await deps.principalFromToken(connection.token, { fresh: true });
      } catch (error) {
        if (isAppError(error) && error.code === ErrorCode.UNAUTHENTICATED) {
          connection.logger.info({ reason: error.extensions.reason }, "websocket session ended");
          socket.close(CloseCode.Unauthorized, "The session has ended");
          return;
        }
        // Hanko or the database did not answer: the events stay checked one by one; asked again at the next round.
        connection.logger.warn({ err: error }, "websocket session could not be re-verified; keeping the connection");
      }
      if (connections.has(socket)) later(() => void recheck(), limits.sessionRecheckMs);
    };
    later(() => void recheck(), limits.sessionRecheckMs);
  };

  const validDocuments = new DocumentCache();
  const format = (errors: readonly GraphQLError[]) => errors.map((error) => deps.formatError(error.toJSON(), error));

  const disposable = useServer<Record<string, unknown> | undefined>(
    {
      schema: deps.schema,
      connectionInitWaitTimeout: limits.handshakeTimeoutMs,
      onConnect: async (ctx) => {
        const params: unknown = ctx.connectionParams;
        // graphql-ws accepts an array as an "object"; the contract does not.
        if (Array.isArray(params)) return closeWith(ctx, CloseCode.BadRequest, "The ConnectionInit payload must be an object");
        const authorization = (params as { authorization?: unknown } | undefined)?.authorization;
        if (authorization !== undefined && typeof authorization !== "string") {
          return closeWith(ctx, CloseCode.BadRequest, "authorization must be a string");
        }
        const { request } = ctx.extra;
        let token: string | undefined;
        try {
          token = extractSessionToken({ authorization, cookie: request.headers.cookie });
        } catch {
          return closeWith(ctx, CloseCode.Unauthorized, "The authorization must be a Bearer token");
        }
        if (!token) return closeWith(ctx, CloseCode.Unauthorized, "A valid Hanko session is required");
        if (authorization === undefined && !mayUseCookie(request, deps.cookieOrigins)) {
          logger.warn({ origin: request.headers.origin ?? null }, "websocket refused: the hanko cookie from an origin that may not use it");
          return closeWith(ctx, CloseCode.Forbidden, "This origin may not use the session cookie; send the token in the ConnectionInit payload");
        }
        let principal: Principal;
        try {
          principal = await deps.principalFromToken(token);
        } catch (error) {
          if (isAppError(error) && error.code === ErrorCode.UNAUTHENTICATED) return closeWith(ctx, CloseCode.Unauthorized, "Unauthorized");
          logger.warn({ err: error }, "websocket connection could not be authenticated");
          const code = isAppError(error) ? error.code : "INTERNAL_SERVER_ERROR";
          // Not the token's fault (Hanko, the database or the PDP did not answer): the client may retry.
          return closeWith(ctx, CloseCode.InternalServerError, code);
        }
        const socket = ctx.extra.socket;
        if (socket.readyState !== socket.OPEN) return false;
        const held = perUser.get(principal.userId) ?? 0;
        if (held >= limits.maxConnectionsPerUser) {
          return closeWith(ctx, CloseCode.Forbidden, `At most ${limits.maxConnectionsPerUser} connections per user`);
        }
        perUser.set(principal.userId, held + 1);
        open += 1;
        const connection: Connection = { principal, token, logger: logger.child({ user: principal.userId }), timers: new Set() };
        connections.set(socket, connection);
        socket.once("close", () => release(socket));
        watch(socket, connection);
        return true;
      },
      onSubscribe: (ctx, _id, payload) => {
        const connection = connections.get(ctx.extra.socket);
        if (!connection) return [new GraphQLError("Unauthorized", { extensions: { code: ErrorCode.UNAUTHENTICATED } })];
        // This Subscribe is already counted among the connection's subscriptions.
        if (Object.keys(ctx.subscriptions).length > limits.maxSubscriptionsPerConnection) {
          return [
            new GraphQLError(`At most ${limits.maxSubscriptionsPerConnection} subscriptions per connection.`, {
              extensions: { code: ErrorCode.RATE_LIMITED },
            }),
          ];
        }
        const document = documentOf(payload, deps, validDocuments);
        if (!("kind" in document)) return document;
        const operations = document.definitions.filter((d) => d.kind === "OperationDefinition");
        const operation = payload.operationName ? operations.find((o) => o.name?.value === payload.operationName) : operations.length === 1 ? operations[0] : undefined;
        if (!operation) return [new GraphQLError("Name the operation to run.", { extensions: { code: "BAD_REQUEST" } })];
        if (operation.operation !== "subscription") {
          return [new GraphQLError("Only subscriptions run over WebSocket; send queries and mutations over HTTP.", { extensions: { code: "BAD_REQUEST" } })];
        }
        // One context for the connection's subscriptions (one caller): the very object each
        // operation runs with, whose `renewDecisions` starts new decisions and loaders in place.
        // Nothing of one subscription is kept on it (rules are not cached: authz/rules.ts).
        if (!connection.context) {
          connection.context = deps.contextFor(connection.principal, connection.logger);
          connection.context.noteEvents = deps.noteEvents;
        }
        const contextValue = connection.context;
        return {
          schema: deps.schema,
          document,
          operationName: payload.operationName ?? undefined,
          variableValues: payload.variables ?? undefined,
          contextValue,
        };
      },
      onNext: (_ctx, _id, _payload, args, result: ExecutionResult) => {
        // The event is resolved: its decisions and loaded rows are not kept until the next one.
        (args.contextValue as RequestContext).renewDecisions?.();
        return result.errors ? { ...result, errors: format(result.errors) } : undefined;
      },
      onError: (_ctx, _id, _payload, errors) => format(errors),
      onClose: (ctx) => release(ctx.extra.socket),
    },
    wss,
  );

  // A socket error is the client's (an oversized or malformed frame): ws has already closed that
  // socket with the matching code (1009, 1002). graphql-ws would report it on the console as its own.
  wss.on("connection", (socket) => {
    socket.removeAllListeners("error");
    socket.on("error", (error) => logger.debug({ err: error }, "websocket closed for a client error"));
  });

  return {
    get connections() {
      return open;
    },
    async close() {
      deps.server.off("upgrade", onUpgrade);
      await disposable.dispose();
    },
  };
}

/**
 * Whether the upgrade's page may act with the cookie: its `Origin` is the API's own (its host is
 * the `Host` the browser connected to, as for the explorer) or listed. No `Origin` is refused:
 * every browser sends one on a WebSocket handshake, and a non-browser client sends its token in
 * the payload instead.
 */
function mayUseCookie(request: IncomingMessage, listed: readonly string[]): boolean {
  const origin = request.headers.origin;
  if (!origin) return false;
  if (listed.includes(origin)) return true;
  try {
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host === request.headers.host?.toLowerCase();
  } catch {
    return false;
  }
}

/**
 * Parsed and validated documents by their text, so that the many subscriptions of an app, which
 * send the same few documents, share one syntax tree instead of holding a copy each (and each
 * text is parsed and validated once). Bounded: the oldest entry goes first.
 */
class DocumentCache {
  private static readonly MAX = 500;
  private readonly documents = new Map<string, DocumentNode>();

  get(text: string): DocumentNode | undefined {
    return this.documents.get(text);
  }

  set(text: string, document: DocumentNode): void {
    if (this.documents.size >= DocumentCache.MAX) this.documents.delete(this.documents.keys().next().value!);
    this.documents.set(text, document);
  }
}

/** The operation's valid document: from the text, the trusted one when a manifest is configured; or the errors to answer with. */
function documentOf(payload: SubscribePayload, deps: Pick<SubscriptionServerDeps, "trustedDocuments" | "schema" | "maxDepth">, cache: DocumentCache): DocumentNode | GraphQLError[] {
  let text = payload.query;
  if (deps.trustedDocuments) {
    const resolution = resolveTrustedDocument(deps.trustedDocuments, payload as unknown as Record<string, unknown>);
    if (resolution === null || !("query" in resolution) || resolution.query === undefined) {
      const refusal = resolution ?? { code: ErrorCode.UNTRUSTED_DOCUMENT, message: "This server runs trusted documents only." };
      return [new GraphQLError(refusal.message, { extensions: { code: refusal.code } })];
    }
    text = resolution.query;
  }
  const cached = cache.get(text);
  if (cached) return cached;
  let document: DocumentNode;
  try {
    document = parse(text);
  } catch (error) {
    return [withCode(error instanceof GraphQLError ? error : new GraphQLError(String(error)), "GRAPHQL_PARSE_FAILED")];
  }
  const errors = validate(deps.schema, document, [...specifiedRules, depthLimit(deps.maxDepth)]);
  if (errors.length > 0) return errors.map((e) => withCode(e, "GRAPHQL_VALIDATION_FAILED"));
  cache.set(text, document);
  return document;
}

function withCode(error: GraphQLError, code: string): GraphQLError {
  return new GraphQLError(error.message, { nodes: error.nodes, source: error.source, positions: error.positions, extensions: { ...error.extensions, code } });
}
