/**
 * A Permit-compatible local PDP and API: the real `permitio` SDK works against it offline,
 * with Permit's decision semantics. Started in-process by the embedded default and by tests,
 * or standalone with `npm run pdp:local` (main.ts). See README.md in this folder.
 */
import { Database } from "./database";
import { DecisionLog } from "./decision-log";
import { Evaluator } from "./evaluator";
import { decideBulk, userPermissionsOf } from "./routes/decisions";
import { RequestStats } from "./routes/local";
import { buildServer } from "./server";

export { conditionsHold } from "./explain";
export { planAccess, type Plan, type PlanCondition, type PlanPolicy, type PlanUser } from "./plan";
export { DecisionEngine, type EngineCheck, type EngineFacts, type EnginePolicy } from "./engine";
export type { Decision, Model, ModelResult } from "./evaluator";

export interface LocalPdp {
  url: string;
  port: number;
  /**
   * The same decisions as `/allowed/bulk` and `/user-permissions`, as function calls, for a
   * client in this very process: same parsing, same evaluator, same decision log.
   */
  inProcess: InProcessDecisions;
  close(): Promise<void>;
}

export interface InProcessDecisions {
  /** The body of `/allowed/bulk` (the SDK's checks): one answer per check, in order. */
  bulk(checks: readonly unknown[]): boolean[];
  /** The body of `/user-permissions`: its answer. */
  userPermissions(query: unknown): unknown;
}

export interface LocalPdpLogger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

export interface LocalPdpOptions {
  /** Bearer token every request (but /healthy) must carry. */
  apiKey: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  /** State file; undefined keeps the state in memory only. */
  statePath?: string;
  /** Decisions kept in the decision log (default 10,000). */
  decisionLogSize?: number;
  /** Quiet when omitted. */
  logger?: LocalPdpLogger;
}

const silent: LocalPdpLogger = { info: () => {}, warn: () => {}, error: () => {} };

export async function startLocalPdp(opts: LocalPdpOptions): Promise<LocalPdp> {
  if (!opts.apiKey) throw new Error("startLocalPdp: apiKey is required");
  const logger = opts.logger ?? silent;
  const host = opts.host ?? "127.0.0.1";
  const db = await Database.open(opts.statePath, logger);
  const ctx = {
    db,
    store: db.store,
    evaluator: new Evaluator(db.store),
    decisions: new DecisionLog(opts.decisionLogSize ?? 10_000),
  };
  const stats = new RequestStats();
  const app = buildServer(ctx, opts.apiKey, logger, stats);
  try {
    await app.listen({ host, port: opts.port ?? 0 });
  } catch (err) {
    await db.close();
    throw err;
  }
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : (opts.port ?? 0);
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  logger.info({ url, persistent: opts.statePath !== undefined }, "local PDP listening");

  let closing: Promise<void> | undefined;
  return {
    url,
    port,
    // Counted under the endpoints they stand for: a call is a call, over HTTP or not.
    inProcess: {
      bulk: (checks) => {
        stats.count("POST /allowed/bulk");
        return decideBulk(ctx, checks).map((d) => d.allow);
      },
      userPermissions: (query) => {
        stats.count("POST /user-permissions");
        return userPermissionsOf(ctx, query);
      },
    },
    close(): Promise<void> {
      closing ??= (async () => {
        await app.close();
        await db.close();
      })();
      return closing;
    },
  };
}
