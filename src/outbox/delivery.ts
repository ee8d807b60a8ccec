/**
 * Delivers recorded facts to the policy decision point in commit order, across any number of
 * replicas, until it acknowledges each one.
 *
 * Order: oldest first, in short batches, each in a transaction that holds a
 * transaction-scoped advisory lock. So at any moment at most one replica is delivering, and
 * a fact is sent only once every earlier fact has been acknowledged: a removal can never be
 * overtaken by an addition committed before it, whichever replica recorded either. Id order
 * is commit order for the facts of one object because every transaction that records a fact
 * about an object holds that object's row (workspace row lock, note insert/delete). A failed
 * fact blocks the ones after it until its backoff has passed (docs/decisions.md).
 *
 * Read-your-writes: a mutation waits, at most `waitMs`, until *its own* facts are
 * acknowledged, whoever delivers them, and says whether they were (`deliver` → true/false).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DataSource } from "typeorm";
import type { Logger } from "../common/logger";
import { factOf, type Fact } from "./facts";
import type { OutboxFact } from "./outbox.entity";

export type FactSink = (fact: Fact) => Promise<void>;

export interface FactDeliveryOptions {
  /** How long a mutation waits for its facts before answering anyway (`OUTBOX_WAIT_MS`). */
  waitMs?: number;
  /** Background retry period. */
  pollMs?: number;
}

/** Key of the advisory lock that makes one replica at a time the deliverer. */
const DELIVERY_LOCK = 7_311_043;
const MAX_BACKOFF_MS = 60_000;
/** While another replica delivers, how often a waiting mutation looks at its facts. */
const ACK_POLL_MS = 20;
/** Acknowledgements of one batch commit together: at most this many facts, or this long after the first. */
const BATCH_MAX = 100;
const BATCH_MS = 50;

type Step = "delivered" | "empty" | "busy" | "blocked";

export class FactDelivery {
  private draining: Promise<void> | null = null;
  private again = false;
  private urgent = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly waitMs: number;
  private readonly pollMs: number;

  constructor(
    private readonly ds: DataSource,
    private readonly sink: FactSink,
    private readonly logger: Logger,
    options: FactDeliveryOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 3000;
    this.pollMs = options.pollMs ?? 2000;
  }

  /**
   * Waits until the given facts are acknowledged (true), or `waitMs` has passed (false). It
   * delivers itself whenever no other replica is, so it never waits on an idle outbox.
   */
  async deliver(factIds: string[]): Promise<boolean> {
    if (factIds.length === 0) return true;
    const deadline = Date.now() + this.waitMs;
    // The caller is waiting: a fact in backoff is tried once more at once; later rounds keep the backoff.
    let urgent = true;
    for (;;) {
      await within(this.drain({ urgent }), deadline - Date.now());
      urgent = false;
      if (await this.acknowledged(factIds)) return true;
      if (Date.now() >= deadline) return false;
      // Another replica is delivering, or a fact ahead of ours is failing.
      await sleep(ACK_POLL_MS);
    }
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.drain(), this.pollMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.draining;
  }

  /** Number of facts not yet acknowledged (the `permit_outbox_pending` metric). */
  async pending(): Promise<number> {
    const [row] = await this.ds.query(`SELECT count(*)::int AS n FROM permit_outbox WHERE delivered_at IS NULL`);
    return row.n as number;
  }

  /** Age in seconds of the oldest fact not yet acknowledged, 0 when none (`permit_outbox_oldest_pending_age_seconds`). */
  async oldestPendingAge(): Promise<number> {
    const [row] = await this.ds.query(
      `SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS age FROM permit_outbox WHERE delivered_at IS NULL`,
    );
    return Number(row.age);
  }

  /**
   * Delivers until the outbox is empty, another replica is delivering, or a fact fails.
   * Single-flight: a drain requested while one runs makes that one go round once more.
   */
  drain(options: { urgent?: boolean } = {}): Promise<void> {
    if (options.urgent) this.urgent = true;
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          const urgent = this.urgent;
          this.urgent = false;
          while ((await this.deliverBatch(urgent)) === "delivered");
        } while (this.again);
      } catch (error) {
        this.logger.warn({ err: error }, "fact delivery paused; will retry");
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  private async acknowledged(factIds: string[]): Promise<boolean> {
    const [row] = await this.ds.query(`SELECT count(*)::int AS n FROM permit_outbox WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL`, [
      factIds,
    ]);
    return row.n === 0;
  }

  /**
   * Delivers pending facts oldest first, while this replica holds the delivery lock, for at
   * most BATCH_MS or BATCH_MAX facts: their acknowledgements commit together, which spares a
   * commit per fact while keeping the lock hand-over and the acknowledgement delay short.
   */
  private deliverBatch(urgent: boolean): Promise<Step> {
    return this.ds.transaction(async (m): Promise<Step> => {
      const [{ locked }] = await m.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [DELIVERY_LOCK]);
      if (!locked) return "busy";
      const rows = (await m.query(
        `SELECT id, kind, payload, attempts, next_attempt_at <= now() AS due
           FROM permit_outbox WHERE delivered_at IS NULL ORDER BY id LIMIT $1`,
        [BATCH_MAX],
      )) as (Pick<OutboxFact, "id" | "kind" | "payload" | "attempts"> & { due: boolean })[];
      if (rows.length === 0) return "empty";
      const started = Date.now();
      const delivered: string[] = [];
      try {
        for (const row of rows) {
          if (!row.due && !urgent) return "blocked";
          try {
            await this.sink(factOf(row));
          } catch (error) {
            const attempts = row.attempts + 1;
            const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempts, 12));
            await m.query(
              // The wait never exceeds half the time the fact has been waiting: attempts pile up fast
              // while mutations retry urgently during an outage, and a short outage must not leave
              // the outbox idle for a minute once the PDP is back.
              `UPDATE permit_outbox SET attempts = $2, last_error = $3,
                      next_attempt_at = now() + least(($4 || ' milliseconds')::interval, greatest(interval '1 second', (now() - created_at) / 2))
                WHERE id = $1`,
              [row.id, attempts, String((error as Error)?.message ?? error).slice(0, 500), String(backoff)],
            );
            // Later facts may concern the same object: none may overtake this one.
            this.logger.warn({ err: error, fact: row.kind, factId: row.id, attempts }, "fact not delivered; will retry");
            return "blocked";
          }
          delivered.push(row.id);
          if (Date.now() - started >= BATCH_MS) break;
        }
        return "delivered";
      } finally {
        if (delivered.length > 0) {
          await m.query(
            `UPDATE permit_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])`,
            [delivered],
          );
        }
      }
    });
  }
}

/**
 * Runs `work` while no replica delivers facts (it holds the deliverers' lock for the session):
 * for a tool that rewrites the PDP from the database, so that no fact lands in between its read
 * and its writes. Facts recorded meanwhile wait in the outbox and are delivered afterwards, in
 * order; mutations answer with `factsPending` until then.
 */
export async function withDeliveryPaused<T>(ds: DataSource, work: () => Promise<T>): Promise<T> {
  const runner = ds.createQueryRunner();
  await runner.connect();
  try {
    await runner.query(`SELECT pg_advisory_lock($1)`, [DELIVERY_LOCK]);
    return await work();
  } finally {
    await runner.query(`SELECT pg_advisory_unlock($1)`, [DELIVERY_LOCK]).catch(() => undefined);
    await runner.release();
  }
}

/** Waits for `work`, but no longer than `ms` (the work itself goes on). */
async function within(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, ms))))]);
  clearTimeout(timer);
}
