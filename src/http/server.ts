/**
 * The HTTP layer: Fastify + Apollo Server. Routes: POST/GET /graphql, /healthz, /readyz,
 * /metrics, and the GraphiQL explorer at /explorer unless turned off. Each request's context
 * comes from the context builder (context.ts); the schema, with its authorization rules, from
 * graphql/schema.ts. Development-only routes (the dev Hanko issuer) are added by the caller.
 */
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import cors from "@fastify/cors";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import { ErrorCode } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Config } from "../config";
import type { RequestContext } from "../graphql/context";
import { buildExecutableSchema } from "../graphql/schema";
import { registerExplorer, type ExplorerSignIn } from "./explorer";
import { createFormatError } from "./format-error";
import { complexityLimitPlugin, depthLimit } from "./graphql-limits";
import { registerHankoWebhooks, type HankoWebhookDeps } from "./routes/hanko-webhooks";
import { registerHealthRoutes } from "./routes/health";
import { registerMetrics } from "./routes/metrics";
import { registerTrustedDocuments } from "./trusted-documents";

export interface ServerDeps {
  config: Config;
  logger: Logger;
  buildContext: (request: FastifyRequest) => Promise<RequestContext>;
  database: { query(sql: string): Promise<unknown> };
  outboxPending: () => Promise<number>;
  /** How the explorer signs people in (dev issuer or Hanko). */
  explorerSignIn: ExplorerSignIn;
  /** `POST /webhooks/hanko`, when given. */
  hankoWebhooks?: HankoWebhookDeps;
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
  const metrics = registerMetrics(app, { outboxPending: deps.outboxPending });
  registerHealthRoutes(app, deps.database);
  if (deps.hankoWebhooks) registerHankoWebhooks(app, deps.hankoWebhooks);

  const schema = await buildExecutableSchema();
  const apollo = new ApolloServer<RequestContext>({
    schema,
    validationRules: [depthLimit(config.limits.maxDepth)],
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
    introspection: config.nodeEnv !== "production",
    // With a safelist, Apollo's APQ cache would let any registered query in: the safelist decides alone.
    ...(config.trustedDocuments ? { persistedQueries: false as const } : {}),
    plugins: [
      fastifyApolloDrainPlugin(app),
      complexityLimitPlugin(schema, config.limits.maxComplexity),
      // Apollo's landing page loads Sandbox from a CDN; the explorer at /explorer works offline.
      ApolloServerPluginLandingPageDisabled(),
      {
        async requestDidStart() {
          return {
            async willSendResponse({ errors, contextValue, response, operationName }) {
              if (errors?.some((e) => e.extensions?.code === ErrorCode.AUTHZ_UNAVAILABLE)) metrics.authzUnavailable.inc();
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
    handler: fastifyApolloHandler(apollo, { context: deps.buildContext }),
  });
  app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/graphql")) metrics.requests.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });

  if (config.explorer) registerExplorer(app, { graphqlPath: "/graphql", signIn: deps.explorerSignIn });
  return app;
}
