/**
 * The HTTP layer: Fastify + Apollo Server. Routes: POST/GET /graphql, /healthz, /readyz,
 * /metrics, and the GraphiQL explorer at /explorer unless turned off. Each request's context
 * comes from the context builder (context.ts); the schema, with its authorization rules, from
 * graphql/schema.ts. Development-only routes (the dev Hanko issuer) are added by the caller.
 */
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import cors from "@fastify/cors";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from "fastify";
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { Kind, type GraphQLFormattedError, type GraphQLSchema, type OperationDefinitionNode } from "graphql";
import { recordUnattributedDenial } from "../authz/authorizer";
import { ErrorCode } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import type { Config } from "../config";
import type { RequestContext } from "../graphql/context";
import { buildExecutableSchema } from "../graphql/schema";
import type { NoteEventSource } from "../live/note-event-hub";
import type { ContextBuilder } from "./context";
import { registerExplorer, type ExplorerSignIn } from "./explorer";
import { createFormatError, logPublicError, toPublicError } from "./format-error";
import { compiledExecution } from "./compiled-execution";
import { complexityLimitPlugin, depthLimit } from "./graphql-limits";
import { registerRateLimit } from "./rate-limit";
import { registerHankoWebhooks, type HankoWebhookDeps } from "./routes/hanko-webhooks";
import { registerHealthRoutes } from "./routes/health";
import { registerMetrics, type OutboxSources } from "./routes/metrics";
import { attachSubscriptions } from "./subscriptions";
import { registerTrustedDocuments } from "./trusted-documents";

export interface ServerDeps {
  config: Config;
  logger: Logger;
  buildContext: ((request: FastifyRequest) => Promise<RequestContext>) & {
    /** The verified caller of a request, shared with its context (the rate limit keys on it). */
    principalOf?(request: FastifyRequest): Promise<{ userId: string } | null>;
  } & Partial<Pick<ContextBuilder, "principalFromToken" | "forPrincipal">>;
  database: { query(sql: string): Promise<unknown> };
  outbox: OutboxSources;
  metrics: Metrics;
  /** The PDP as the circuit breaker sees it (`/readyz`). */
  pdpStatus: () => "up" | "down";
  /** How the explorer signs people in (dev issuer or Hanko). */
  explorerSignIn: ExplorerSignIn;
  /** `POST /webhooks/hanko`, when given. */
  hankoWebhooks?: HankoWebhookDeps;
  /** The schema to serve; by default the executable one, every field behind its rule. */
  schema?: GraphQLSchema;
  /** GraphQL subscriptions over WebSocket on the same path, when given (needs `principalFromToken` and `forPrincipal`). */
  subscriptions?: { noteEvents: NoteEventSource; clockToleranceSec(): number };
}

/** A client's `x-request-id` is kept when it looks like an id; anything else gets a new one. */
const REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

/** Label of an operation: its root fields (schema names, so a bounded set), at most two, else `other`. */
function operationLabel(operation: OperationDefinitionNode | undefined): string {
  if (!operation) return "other";
  const names = new Set<string>();
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return "other";
    names.add(selection.name.value);
  }
  return names.size === 0 || names.size > 2 ? "other" : [...names].sort().join(",");
}

/**
 * Fastify's `trustProxy` from `TRUST_PROXY`. A hop count trusts that many hops in front of the
 * API whatever their address (Fastify's own numeric option now trusts none): only for an API
 * that nothing can reach but through its proxies; addresses are the safer setting.
 */
function trustedProxies(setting: Config["trustProxy"]): false | string[] | ((address: string, hop: number) => boolean) {
  return typeof setting === "number" ? (_address, hop) => hop < setting : setting;
}

const DENIALS = new Set<unknown>([ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND]);

/**
 * Every FORBIDDEN and NOT_FOUND carries a `decisionId`. The rules refuse with one
 * (Authorizer#refuse); a denial raised later, by a use case, gets one recorded here.
 */
function withDecisionId(error: GraphQLFormattedError, context: RequestContext): GraphQLFormattedError {
  const code = error.extensions?.code;
  if (!DENIALS.has(code) || error.extensions?.decisionId !== undefined) return error;
  const decisionId = recordUnattributedDenial(context.logger, context.principal?.userId, String(code), error.path);
  return { ...error, extensions: { ...error.extensions, decisionId } };
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, logger, metrics } = deps;
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: logger.child({ component: "http" }),
    // One line per request would drown the log; the metrics carry the request rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
    // Who the client is (`request.ip`: the anonymous rate limit, the `ip` of log lines).
    trustProxy: trustedProxies(config.trustProxy),
    // Validated here rather than trusted as sent (`requestIdHeader` would take any value).
    requestIdHeader: false,
    genReqId: (request) => {
      const sent = request.headers["x-request-id"];
      return typeof sent === "string" && REQUEST_ID.test(sent) ? sent : randomUUID();
    },
  });
  app.addHook("onRequest", async (request, reply) => {
    void reply.header("x-request-id", request.id);
    // Every line logged for the request carries the client's address beside `reqId`.
    request.log = request.log.child({ ip: request.ip });
  });

  // Browsers on other origins only when listed; mobile apps and servers are not subject to CORS.
  await app.register(cors, { origin: config.corsOrigins.length > 0 ? config.corsOrigins : false, credentials: true, maxAge: 600 });
  registerMetrics(app, metrics, deps.outbox);
  registerHealthRoutes(app, { database: deps.database, pdp: deps.pdpStatus });
  if (deps.hankoWebhooks) registerHankoWebhooks(app, deps.hankoWebhooks);
  const principalOf = deps.buildContext.principalOf ?? (async () => null);
  const limiter = await registerRateLimit(app, {
    perUser: config.ops.rateLimitPerMinute,
    perAnonymousIp: config.ops.rateLimitAnonPerMinute,
    userOf: async (request) => (await principalOf(request))?.userId ?? null,
    metrics,
  });
  // Apollo shallow-copies the context per operation: the request rides along under a symbol key.
  const REQUEST = Symbol("fastify request");
  type WithRequest = RequestContext & { [REQUEST]?: FastifyRequest };

  const schema = deps.schema ?? (await buildExecutableSchema());
  const apollo = new ApolloServer<RequestContext>({
    gateway: compiledExecution(schema),
    validationRules: [depthLimit(config.limits.maxDepth)],
    // Masking only: what to log is logged by the plugin below, on the request's own logger (its
    // lines carry `reqId`). formatError has no context to take that logger from, and an
    // AsyncLocalStorage to carry it would put promise hooks on every request.
    formatError: (formatted, error) => toPublicError(formatted, error).formatted,
    includeStacktraceInErrorResponses: false,
    introspection: config.nodeEnv !== "production",
    // With a safelist, Apollo's APQ cache would let any registered query in: the safelist decides alone.
    ...(config.trustedDocuments ? { persistedQueries: false as const } : {}),
    plugins: [
      fastifyApolloDrainPlugin(app),
      complexityLimitPlugin<RequestContext>(schema, config.limits.maxComplexity, (cost, context) => {
        const request = (context as WithRequest)[REQUEST];
        if (request) limiter.charge(request, cost);
      }),
      // Apollo's landing page loads Sandbox from a CDN; the explorer at /explorer works offline.
      ApolloServerPluginLandingPageDisabled(),
      // No response is cacheable (every answer depends on the caller's permissions), and the
      // default cache-control plugin wraps every field's resolver to collect hints.
      ApolloServerPluginCacheControlDisabled(),
      {
        async requestDidStart() {
          const started = process.hrtime.bigint();
          return {
            async didEncounterErrors({ errors, contextValue }) {
              for (const error of errors) logPublicError(contextValue.logger ?? logger, toPublicError(error.toJSON(), error));
            },
            async willSendResponse({ errors, contextValue, response, operationName, operation }) {
              if (response.body.kind === "single" && response.body.singleResult.errors) {
                response.body.singleResult.errors = response.body.singleResult.errors.map((e) => withDecisionId(e, contextValue));
              }
              metrics.operations.observe(
                { operation: operationLabel(operation), type: operation?.operation ?? "unknown", outcome: errors?.length ? "error" : "ok" },
                Number(process.hrtime.bigint() - started) / 1e9,
              );
              if (contextValue.authorizer) metrics.checksPerRequest.observe(contextValue.authorizer.checksSent);
              if (errors?.some((e) => e.extensions?.code === ErrorCode.AUTHZ_UNAVAILABLE)) metrics.authzUnavailable.inc();
              const formatted = response.body.kind === "single" ? response.body.singleResult.errors : undefined;
              if (formatted?.some((e) => e.extensions?.code === ErrorCode.DATABASE_UNAVAILABLE)) response.http.status = 503;
              if (contextValue.factsPending && response.body.kind === "single") {
                // Read-your-writes could not be guaranteed: say so to the client and the operator.
                response.body.singleResult.extensions = { ...response.body.singleResult.extensions, factsPending: true };
                logger.warn({ factsPending: true, operationName, user: contextValue.principal?.userId }, "mutation answered before the PDP acknowledged its facts");
              }
            },
          };
        },
      },
    ],
  });
  await apollo.start();

  const graphqlHandler = fastifyApolloHandler(apollo, {
    context: async (request) => {
      const context: WithRequest = await deps.buildContext(request);
      context[REQUEST] = request;
      return context;
    },
  });
  if (config.trustedDocuments) registerTrustedDocuments(app, config.trustedDocuments, "/graphql");
  app.route<{ Reply: string }>({
    url: "/graphql",
    method: ["GET", "POST", "OPTIONS"],
    // A person opening the endpoint in a browser (a page request, no query) is shown the explorer.
    preHandler: async (request, reply) => {
      const opensInBrowser =
        request.method === "GET" && !(request.query as { query?: string }).query && request.headers.accept?.includes("text/html");
      if (config.explorer && opensInBrowser) return reply.redirect("/explorer", 302);
    },
    preValidation: limiter.hook,
    handler: graphqlHandler,
    errorHandler: (error, _request, reply) => {
      if (limiter.handle(error, reply)) return;
      throw error;
    },
  });
  app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/graphql")) metrics.requests.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  const { principalFromToken, forPrincipal } = deps.buildContext;
  if (deps.subscriptions && principalFromToken && forPrincipal) {
    const subscriptions = attachSubscriptions({
      server: app.server,
      path: "/graphql",
      schema,
      limits: config.subscriptions,
      maxDepth: config.limits.maxDepth,
      cookieOrigins: config.corsOrigins,
      trustedDocuments: config.trustedDocuments,
      principalFromToken,
      contextFor: forPrincipal,
      clockToleranceSec: deps.subscriptions.clockToleranceSec,
      noteEvents: deps.subscriptions.noteEvents,
      formatError: createFormatError(logger),
      logger: logger.child({ component: "subscriptions" }),
    });
    // Upgraded sockets are not the HTTP server's connections any more: close() would not wait for them, nor end them.
    app.addHook("preClose", () => subscriptions.close());
  }

  if (config.explorer) registerExplorer(app, { graphqlPath: "/graphql", signIn: deps.explorerSignIn });
  return app;
}
