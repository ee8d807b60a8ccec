/**
 * The "bare" API of the overhead benchmark: the same server (`buildServer`), context builder,
 * type-graphql schema, resolvers, services, repositories, DataLoaders, token verification and
 * database as the full stack, WITHOUT authorization:
 * - the schema is `buildApiSchema()` (no graphql-shield middleware) instead of the executable one;
 * - the PDP client allows every check and answers the role `user`, without any network call;
 * - the list planner answers `{ kind: "all" }` (no policy reads);
 * - first sight records the user in the database but does not sync it to the PDP.
 * Bench-only: nothing in src/ can switch authorization off.
 */
import "reflect-metadata";
import type { FastifyInstance } from "fastify";
import type { AddressInfo } from "node:net";
import type { RunningApi } from "../src/app";
import { createSessionVerifier } from "../src/auth/session-verifier";
import type { ListPlanner } from "../src/authz/list-plan";
import { ChangeCursorCodec } from "../src/changes/change-cursor";
import { ChangeFeed } from "../src/changes/change-feed";
import { ChangeLogRepository } from "../src/changes/change-log.repository";
import { CursorCodec } from "../src/common/cursor";
import type { Logger } from "../src/common/logger";
import { createMetrics } from "../src/common/metrics";
import type { Config } from "../src/config";
import { DEV_JWKS_PATH, DEV_TOKEN_PATH } from "../src/dev/hanko-routes";
import type { Services } from "../src/graphql/context";
import { buildApiSchema } from "../src/graphql/schema";
import { createContextBuilder } from "../src/http/context";
import { buildServer } from "../src/http/server";
import { NoteRepository } from "../src/notes/note.repository";
import { NoteService } from "../src/notes/note.service";
import { FactDelivery } from "../src/outbox/delivery";
import type { DecisionClient } from "../src/permit/breaker";
import { FirstSight } from "../src/users/first-sight";
import { UserRepository } from "../src/users/user.repository";
import { UserService } from "../src/users/user.service";
import { WorkspaceRepository } from "../src/workspaces/workspace.repository";
import { WorkspaceService } from "../src/workspaces/workspace.service";

/** A PDP that allows everything, in process: no HTTP, no policy. */
const allowAll = {
  bulkCheck: async (checks: unknown[]) => checks.map(() => true),
  getUserPermissions: async () => ({ "__tenant:default": { tenant: { key: "default", attributes: {} }, permissions: [], roles: ["user"] } }),
} as unknown as DecisionClient;

const everyNote = { notes: () => Promise.resolve({ kind: "all" as const }) } as unknown as ListPlanner;

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
  const secret = "bare-api-bench-cursor-secret-0123456789";
  const notes = new NoteService(dataSource, new NoteRepository(dataSource), delivery, new CursorCodec(secret), () => Promise.resolve(new Map()));
  const services: Services = {
    users,
    notes,
    workspaces: new WorkspaceService(dataSource, new WorkspaceRepository(dataSource), users, delivery),
    changes: new ChangeFeed({ log: new ChangeLogRepository(dataSource), loadNotes: (ids) => notes.findByIds(ids), cursors: new ChangeCursorCodec(secret), awaitFacts: () => Promise.resolve(true) }),
  };
  const verifier = createSessionVerifier({ jwksUrl: new URL(`${full.url}${DEV_JWKS_PATH}`), audience: config.hanko.audience, issuer: config.hanko.issuer });
  const app = await buildServer({
    config,
    logger,
    schema: await buildApiSchema(),
    buildContext: createContextBuilder({
      verifier: () => verifier,
      firstSight: new FirstSight(userRepository, { ensure: () => Promise.resolve() }),
      permit: allowAll,
      listPlanner: everyNote,
      services,
      tenant: config.permit.tenant,
      logger,
    }),
    database: dataSource,
    outbox: { outboxPending: () => Promise.resolve(0), outboxOldestAge: () => Promise.resolve(0), outboxStuck: () => Promise.resolve(new Map()) },
    metrics: createMetrics(),
    pdpStatus: () => "up",
    explorerSignIn: { kind: "dev", tokenPath: DEV_TOKEN_PATH },
  });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const { port } = app.server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, app, stop: () => app.close() };
}
