/**
 * Fastify + Apollo Server. Routes: POST/GET /graphql, /healthz (process up), /readyz
 * (database reachable), /metrics (Prometheus), the dev Hanko routes when the embedded
 * issuer is in use, and the GraphiQL explorer at /explorer unless turned off.
 */
import { ApolloServer } from "@apollo/server";
import cors from "@fastify/cors";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from "fastify";
import { applyMiddleware } from "graphql-middleware";
import { Registry, collectDefaultMetrics, Counter, Gauge, Histogram } from "prom-client";
import type { DataSource } from "typeorm";
import type { Permit } from "permitio";
import { extractSessionToken } from "../auth/extract-token";
import type { Principal } from "../auth/principal";
import type { SessionVerifier } from "../auth/session-verifier";
import { Authorizer } from "../authz/authorizer";
import { createShield } from "../authz/rule-map";
import type { PermitFacts } from "../permit/fact-writer";
import { toAuthzError } from "../permit/client";
import type { UserSync } from "../permit/user-sync";
import type { Config } from "../config";
import type { RequestContext } from "../graphql/context";
import type { DevHankoIssuer } from "../dev/hanko-issuer";
import { DEV_TOKEN_PATH, registerDevHankoRoutes } from "../dev/hanko-routes";
import { AppError, ErrorCode, isAppError } from "../common/errors";
import { registerExplorer } from "./explorer";
import { createFormatError } from "../graphql/format-error";
import { complexityLimitPlugin, depthLimit } from "../graphql/limits";
import { createLoaders } from "../graphql/loaders";
import { buildApiSchema } from "../graphql/schema";
import type { Services } from "../services";
import type { Logger } from "../common/logger";
import type { FactDelivery } from "../outbox/delivery";

export interface ServerDeps {
  config: Config;
  logger: Logger;
  dataSource: DataSource;
  services: Services;
  /** Read per request: with the embedded issuer it exists only once the port is known. */
  verifier: () => SessionVerifier;
  permit: Permit;
  permitFacts: PermitFacts;
  userSync: UserSync;
  delivery: FactDelivery;
  devIssuer?: DevHankoIssuer;
}

export async function buildServer(deps: ServerDeps): Promise<FastifyInstance> {
  const { config, logger } = deps;
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: logger.child({ component: "http" }),
    // One line per request would drown the log; the metrics carry the request rates.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
  });

  // Browsers on other origins only when listed; mobile apps and servers are not subject to CORS.
  await app.register(cors, { origin: config.corsOrigins.length > 0 ? config.corsOrigins : false, credentials: true, maxAge: 600 });

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const requests = new Histogram({
    name: "graphql_request_duration_seconds",
    help: "GraphQL HTTP requests by status",
    labelNames: ["status"],
    registers: [metrics],
  });
  new Gauge({
    name: "permit_outbox_pending",
    help: "Facts recorded for the policy decision point and not yet acknowledged by it",
    registers: [metrics],
    async collect() {
      this.set(await deps.delivery.pending());
    },
  });
  const authzFailures = new Counter({
    name: "authz_unavailable_total",
    help: "Requests that failed closed because the policy decision point was unreachable",
    registers: [metrics],
  });

  const schema = applyMiddleware(await buildApiSchema(), createShield());
  const apollo = new ApolloServer<RequestContext>({
    schema,
    validationRules: [depthLimit(config.limits.maxDepth)],
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
    introspection: config.nodeEnv !== "production",
    plugins: [
      fastifyApolloDrainPlugin(app),
      complexityLimitPlugin(schema, config.limits.maxComplexity),
      // Apollo's landing page loads Sandbox from a CDN; the explorer at /explorer works offline.
      ApolloServerPluginLandingPageDisabled(),
      {
        async requestDidStart() {
          return {
            async willSendResponse({ errors, contextValue, response, operationName }) {
              if (errors?.some((e) => e.extensions?.code === ErrorCode.AUTHZ_UNAVAILABLE)) authzFailures.inc();
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

  const context = async (request: FastifyRequest): Promise<RequestContext> => {
    const principal = await authenticate(request, deps);
    const authorizer = principal
      ? new Authorizer({ permit: deps.permit, user: { key: principal.userId, email: principal.email }, tenant: config.permit.tenant, logger })
      : null;
    return {
      principal,
      authorizer,
      loaders: createLoaders(deps.services),
      services: deps.services,
      tenantRoles: async () => {
        try {
          return await deps.permitFacts.tenantRoles(principal!.userId);
        } catch (error) {
          throw toAuthzError(error, logger);
        }
      },
      logger,
    };
  };

  app.route<{ Reply: string }>({
    url: "/graphql",
    method: ["GET", "POST", "OPTIONS"],
    // A person opening the endpoint in a browser (a page request, no query) is shown the explorer.
    preHandler: async (request, reply) => {
      const opensInBrowser =
        request.method === "GET" && !(request.query as { query?: string }).query && request.headers.accept?.includes("text/html");
      if (config.explorer && opensInBrowser) return reply.redirect("/explorer", 302);
    },
    handler: fastifyApolloHandler(apollo, { context }),
  });
  app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/graphql")) requests.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  app.get("/healthz", async () => ({ status: "ok" }));
  app.get("/readyz", async (_request, reply) => {
    try {
      await deps.dataSource.query("SELECT 1");
      return { status: "ready" };
    } catch {
      return reply.code(503).send({ status: "unavailable", reason: "database unreachable" });
    }
  });
  app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));

  if (deps.devIssuer) registerDevHankoRoutes(app, deps.devIssuer, { nodeEnv: config.nodeEnv });
  if (config.explorer) {
    registerExplorer(app, {
      graphqlPath: "/graphql",
      signIn: deps.devIssuer ? { kind: "dev", tokenPath: DEV_TOKEN_PATH } : { kind: "hanko", publicUrl: config.hanko.publicUrl! },
    });
  }
  return app;
}

/**
 * No token → anonymous (every operation then answers UNAUTHENTICATED). A token that does not
 * verify → HTTP 401. A verified caller is recorded in the database and synced to the PDP on
 * first sight; a sync that cannot reach the PDP fails the request with AUTHZ_UNAVAILABLE.
 */
async function authenticate(request: FastifyRequest, deps: ServerDeps): Promise<Principal | null> {
  try {
    const token = extractSessionToken({ authorization: request.headers.authorization, cookie: request.headers.cookie });
    if (!token) return null;
    const principal = await deps.verifier().verify(token);
    await deps.services.users.ensureRecorded(principal);
    await deps.userSync.ensure({ key: principal.userId, email: principal.email });
    return principal;
  } catch (error) {
    if (isAppError(error)) {
      const status = error.code === ErrorCode.UNAUTHENTICATED ? 401 : 503;
      throw new AppError(error.code, error.message, { ...error.extensions, http: { status } });
    }
    throw error;
  }
}
