/**
 * The "bare" API of the overhead benchmark: the same Fastify + Apollo server, type-graphql
 * schema, resolvers, services, repositories, DataLoaders, token verification and database as
 * the full stack, WITHOUT authorization:
 * - the schema is `buildApiSchema()` (no graphql-shield middleware) instead of `buildExecutableSchema()`;
 * - the request's Authorizer answers every `can()` true without calling the PDP;
 * - the list planner answers `{ kind: "all" }` (no policy reads);
 * - `me.roles` answers `["user"]` without `/user-permissions`;
 * - first sight records the user in the database but does not sync it to the PDP.
 *
 * `buildServer` (src/http/server.ts) builds its schema itself, so the server is composed here
 * from the same pieces, in the same order and with the same options, plugins and hooks;
 * what it leaves out is listed in bench/README.md. Bench-only: nothing in src/ can switch
 * authorization off.
 */
import "reflect-metadata";
import { ApolloServer } from "@apollo/server";
import { ApolloServerPluginLandingPageDisabled } from "@apollo/server/plugin/disabled";
import { fastifyApolloDrainPlugin, fastifyApolloHandler } from "@as-integrations/fastify";
import cors from "@fastify/cors";
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyRequest, type RawServerDefault } from "fastify";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { extractSessionToken } from "../src/auth/extract-token";
import { createSessionVerifier } from "../src/auth/session-verifier";
import { Authorizer, type AuthzResource } from "../src/authz/authorizer";
import type { ListPlanner } from "../src/authz/list-plan";
import { CursorCodec } from "../src/common/cursor";
import { AppError, ErrorCode, isAppError } from "../src/common/errors";
import type { Logger } from "../src/common/logger";
import type { Config } from "../src/config";
import { DEV_JWKS_PATH } from "../src/dev/hanko-routes";
import type { RequestContext, Services } from "../src/graphql/context";
import { createLoaders } from "../src/graphql/loaders";
import { buildApiSchema } from "../src/graphql/schema";
import { createFormatError } from "../src/http/format-error";
import { complexityLimitPlugin, depthLimit } from "../src/http/graphql-limits";
import { registerHealthRoutes } from "../src/http/routes/health";
import { registerMetrics } from "../src/http/routes/metrics";
import { createMetrics } from "../src/common/metrics";
import { NoteRepository } from "../src/notes/note.repository";
import { NoteService } from "../src/notes/note.service";
import { FactDelivery } from "../src/outbox/delivery";
import type { RunningApi } from "../src/app";
import { FirstSight } from "../src/users/first-sight";
import { UserRepository } from "../src/users/user.repository";
import { UserService } from "../src/users/user.service";
import { WorkspaceRepository } from "../src/workspaces/workspace.repository";
import { WorkspaceService } from "../src/workspaces/workspace.service";

/** An Authorizer that allows everything and never calls the PDP. */
class AllowAll extends Authorizer {
  constructor(userId: string, logger: Logger) {
    super({
      permit: { bulkCheck: () => Promise.reject(new Error("the bare API never calls the PDP")) },
      user: { userId },
      tenant: "default",
      logger,
    });
  }
  override can(_action: string, _resource: AuthzResource): Promise<boolean> {
    return Promise.resolve(true);
  }
  override prefetch(): void {}
}

const everyNote: Pick<ListPlanner, "notes"> = { notes: () => Promise.resolve({ kind: "all" }) };

export interface BareApi {
  url: string;
  app: FastifyInstance;
  stop(): Promise<void>;
}

/** The bare API on the full stack's database, verifying tokens of the full stack's dev issuer. */
export async function startBareApi(full: RunningApi, config: Config, logger: Logger): Promise<BareApi> {
  const dataSource = full.dataSource;
  // Never started: reads do not deliver facts, and this server writes nothing.
  const delivery = new FactDelivery(dataSource, () => Promise.reject(new Error("the bare API delivers no facts")), logger);
  const userRepository = new UserRepository(dataSource);
  const users = new UserService(userRepository);
  const services: Services = {
    users,
    notes: new NoteService(dataSource, new NoteRepository(dataSource), delivery, new CursorCodec("bare-api-bench-cursor-secret-0123456789")),
    workspaces: new WorkspaceService(dataSource, new WorkspaceRepository(dataSource), users, delivery),
  };
  const firstSight = new FirstSight(userRepository, { ensure: () => Promise.resolve() });
  const verifier = createSessionVerifier({
    jwksUrl: new URL(`${full.url}${DEV_JWKS_PATH}`),
    audience: config.hanko.audience,
    issuer: config.hanko.issuer,
  });
  const buildContext = async (request: FastifyRequest): Promise<RequestContext> => {
    let principal = null;
    try {
      const token = extractSessionToken({ authorization: request.headers.authorization, cookie: request.headers.cookie });
      if (token) {
        principal = await verifier.verify(token);
        await firstSight.ensure(principal);
      }
    } catch (error) {
      if (isAppError(error)) {
        const status = error.code === ErrorCode.UNAUTHENTICATED ? 401 : 503;
        throw new AppError(error.code, error.message, { ...error.extensions, http: { status } });
      }
      throw error;
    }
    return {
      principal,
      authorizer: principal ? new AllowAll(principal.userId, logger) : null,
      loaders: createLoaders(services),
      listPlanner: everyNote,
      services,
      tenantRoles: () => Promise.resolve(["user"]),
      logger,
    };
  };

  // As buildServer (src/http/server.ts), with buildApiSchema() for buildExecutableSchema().
  const app = Fastify<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger>({
    loggerInstance: logger.child({ component: "http" }),
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1_048_576,
  });
  await app.register(cors, { origin: config.corsOrigins.length > 0 ? config.corsOrigins : false, credentials: true, maxAge: 600 });
  const metrics = createMetrics();
  registerMetrics(app, metrics, { outboxPending: () => Promise.resolve(0), outboxOldestAge: () => Promise.resolve(0) });
  registerHealthRoutes(app, { database: dataSource, pdp: () => "up" });
  const schema = await buildApiSchema();
  const apollo = new ApolloServer<RequestContext>({
    schema,
    validationRules: [depthLimit(config.limits.maxDepth)],
    formatError: createFormatError(logger),
    includeStacktraceInErrorResponses: false,
    introspection: config.nodeEnv !== "production",
    plugins: [
      fastifyApolloDrainPlugin(app),
      complexityLimitPlugin(schema, config.limits.maxComplexity),
      ApolloServerPluginLandingPageDisabled(),
      {
        async requestDidStart() {
          return {
            async willSendResponse({ errors, contextValue, response }) {
              if (errors?.some((e) => e.extensions?.code === ErrorCode.AUTHZ_UNAVAILABLE)) metrics.authzUnavailable.inc();
              if (contextValue.factsPending && response.body.kind === "single") {
                response.body.singleResult.extensions = { ...response.body.singleResult.extensions, factsPending: true };
              }
            },
          };
        },
      },
    ],
  });
  await apollo.start();
  app.route<{ Reply: string }>({
    url: "/graphql",
    method: ["GET", "POST", "OPTIONS"],
    preHandler: async (request, reply) => {
      const opensInBrowser =
        request.method === "GET" && !(request.query as { query?: string }).query && request.headers.accept?.includes("text/html");
      if (config.explorer && opensInBrowser) return reply.redirect("/explorer", 302);
    },
    handler: fastifyApolloHandler(apollo, { context: buildContext }),
  });
  app.addHook("onResponse", async (request, reply) => {
    if (request.url.startsWith("/graphql")) metrics.requests.observe({ status: String(reply.statusCode) }, reply.elapsedTime / 1000);
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, stop: () => app.close() };
}
