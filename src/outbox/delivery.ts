/**
 * Delivers recorded facts to the policy decision point in commit order per object, across any
 * number of replicas, until it acknowledges each one.
 *
 * Order: every fact names the objects it concerns (`object_keys`) and those it changes
 * (`changed_keys`, outbox/facts.ts#objectsOf). A fact is sent only once every earlier fact
 * that conflicts with it (one of the two changes an object the other concerns) has been
 * acknowledged, so a removal can never be overtaken by an addition of the same object committed
 * before it, whichever replica recorded either; facts of other objects go on. Id order is commit
 * order for the facts of one object because every transaction that records a fact about an
 * object holds that object's row (workspace row lock, note insert/delete, the user's row).
 *
 * One deliverer at a time: delivery runs in short batches, each in a transaction that holds a
 * transaction-scoped advisory lock. A batch takes, in waves, the pending facts that no earlier
 * pending fact holds back, chosen by one statement over the head of the queue (WAVE); they are
 * independent of each other, and each wave sees the acknowledgements of the one before, so a
 * chain of facts about one object moves in one batch. Facts held behind a stuck one stay in the
 * head of the queue; it is read longer to find the facts past them.
 *
 * Failures: a fact Permit could not take (unreachable, timed out, 5xx, 429) is retried with
 * backoff, as long as it takes, and ends the drain: Permit is failing, not the fact, and the
 * other facts are tried at the next one. One Permit refused (another 4xx) is retried
 * `MAX_REJECTIONS` times, then it is stuck (`stuck_at`): it is not tried again until an operator
 * retries or skips it (`npm run permit -- outbox`), and it keeps holding back the facts of its
 * own objects, and only those (docs/decisions.md).
 *
 * Read-your-writes: a mutation waits, at most `waitMs`, until *its own* facts are
 * acknowledged, whoever delivers them, and says whether they were (`deliver` → true/false).
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { DataSource, EntityManager } from "typeorm";
import type { Logger } from "../common/logger";
import { factOf, type Fact } from "./facts";
import type { OutboxFact } from "./outbox.entity";

/**
 * Applies one fact to the PDP. A failure whose `retryable` is false says the PDP refused this
 * fact itself; any other failure is taken for the PDP being unreachable or failing.
 */
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
/** Refusals after which a fact is stuck: a refusal seldom goes away by itself, but one may come from a race (a policy being applied). */
export const MAX_REJECTIONS = 5;
/** While another replica delivers, how often a waiting mutation looks at its facts. */
const ACK_POLL_MS = 20;
/** Acknowledgements of one batch commit together: at most this many facts, or this long after the first. */
const BATCH_MAX = 100;
const BATCH_MS = 50;
/** How long after an outage answer only urgent drains (a mutation waiting for its facts) send anything. */
const UNAVAILABLE_PAUSE_MS = 1000;
/** The shortest head of the queue read to choose a wave from. */
const MIN_HEAD = 2 * BATCH_MAX;

type Step = "delivered" | "idle" | "busy";

/** What a failed delivery says about the fact: try again later, or the PDP refused it. */
export type FailureKind = "transient" | "rejected";

export function failureKind(error: unknown): FailureKind {
  return (error as { retryable?: unknown } | null | undefined)?.retryable === false ? "rejected" : "transient";
}

/** A fact about to be sent. */
type Sending = Pick<OutboxFact, "id" | "kind" | "payload" | "attempts" | "rejections"> & { object_keys: string[] };

export interface Wave {
  /** Pending facts the head of the queue held (at most the length asked for). */
  read: number;
  /** Those that may go now, in id order: independent of each other. */
  facts: Sending[];
}

/**
 * One wave: among the `$1` oldest pending facts (the head of the queue, read by one statement,
 * so one snapshot: a fact that commits late with a lower id is either in it, before the facts it
 * must precede, or not in it at all), the first `$4` that nothing holds back and that may be sent
 * now (not stuck, due unless `$2`, not failed in this drain: `$3`).
 *
 * Held back: a fact for which an earlier pending fact — stuck, in backoff or about to be sent
 * alike — changes an object it concerns, or concerns an object it changes. Per object key, the
 * first fact to change it and the first to concern it say that in one pass: a fact is held on a
 * key it concerns when an earlier one changes it, and on a key it changes when an earlier one
 * concerns it (`changed_keys` is a subset of `object_keys`).
 */
const WAVE = `
  WITH head AS (
    SELECT id, object_keys, changed_keys, stuck_at IS NOT NULL AS stuck, next_attempt_at <= now() AS due
      FROM permit_outbox WHERE delivered_at IS NULL ORDER BY id LIMIT $1
  ), keyed AS (
    SELECT h.id, k.key, k.key = ANY (h.changed_keys) AS changes FROM head h, unnest(h.object_keys) AS k(key)
  ), firsts AS (
    SELECT key, min(id) FILTER (WHERE changes) AS first_change, min(id) AS first_any FROM keyed GROUP BY key
  ), held AS (
    SELECT x.id FROM keyed x JOIN firsts f USING (key) WHERE f.first_change < x.id OR (x.changes AND f.first_any < x.id)
  ), free AS (
    SELECT o.id::text AS id, o.kind, o.payload, o.attempts, o.rejections, o.object_keys
      FROM head h JOIN permit_outbox o ON o.id = h.id
     WHERE NOT h.stuck AND (h.due OR $2) AND h.id <> ALL ($3::bigint[]) AND h.id NOT IN (SELECT id FROM held)
     ORDER BY h.id LIMIT $4
  )
  SELECT (SELECT count(*) FROM head)::int AS read, coalesce((SELECT json_agg(free ORDER BY free.id::bigint) FROM free), '[]'::json) AS facts`;

/** The facts of the next wave, from the `length` oldest pending facts (see WAVE). */
export async function nextWave(
  db: Pick<EntityManager, "query">,
  options: { length: number; urgent: boolean; failed: readonly string[]; max: number },
): Promise<Wave> {
  const [row] = (await db.query(WAVE, [options.length, options.urgent, options.failed, options.max])) as Wave[];
  return row!;
}

export class FactDelivery {
  private draining: Promise<void> | null = null;
  private again = false;
  private urgent = false;
  private timer: NodeJS.Timeout | null = null;
  /** How much of the queue's head the last wave needed to read. */
  private headLength = MIN_HEAD;
  /** Until when Permit is taken for unavailable (the last outage answer). */
  private unavailableUntil = 0;
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
   * delivers itself whenever no other replica is, so it never waits on an idle outbox; it does
   * not wait at all for a fact that is stuck or held back by a stuck one.
   */
  async deliver(factIds: string[]): Promise<boolean> {
    if (factIds.length === 0) return true;
    const deadline = Date.now() + this.waitMs;
    // The caller is waiting: a fact in backoff is tried once more at once; later rounds keep the backoff.
    let urgent = true;
    for (;;) {
      await within(this.drain({ urgent }), deadline - Date.now());
      if (await this.acknowledged(factIds)) return true;
      if (urgent && (await this.heldByStuck(factIds))) return false;
      urgent = false;
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

  /** Number of facts not yet acknowledged, stuck ones included (the `permit_outbox_pending` metric). */
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

  /** Stuck facts by kind (the `permit_outbox_stuck` metric). */
  async stuck(): Promise<Map<string, number>> {
    const rows = (await this.ds.query(
      `SELECT kind, count(*)::int AS n FROM permit_outbox WHERE delivered_at IS NULL AND stuck_at IS NOT NULL GROUP BY kind`,
    )) as { kind: string; n: number }[];
    return new Map(rows.map((r) => [r.kind, r.n]));
  }

  /**
   * Delivers until nothing deliverable is left, Permit is unavailable, or another replica is
   * delivering. Each fact is tried at most once per drain. After an outage answer, drains that
   * are not urgent send nothing for UNAVAILABLE_PAUSE_MS: with every fact of its own now, the
   * queue would otherwise try a fresh one at each drain while Permit is down. Single-flight: a
   * drain requested while one runs makes that one go round once more.
   */
  drain(options: { urgent?: boolean } = {}): Promise<void> {
    if (options.urgent) this.urgent = true;
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    // Cleared in a callback, never synchronously: a round that sends nothing must not clear it before it is set.
    this.draining = this.rounds().finally(() => (this.draining = null));
    return this.draining;
  }

  private async rounds(): Promise<void> {
    try {
      do {
        this.again = false;
        const urgent = this.urgent;
        this.urgent = false;
        const failed: string[] = [];
        if (!urgent && Date.now() < this.unavailableUntil) continue;
        while ((await this.deliverBatch(urgent, failed)) === "delivered");
      } while (this.again);
    } catch (error) {
      this.logger.warn({ err: error }, "fact delivery paused; will retry");
    }
  }

  private async acknowledged(factIds: string[]): Promise<boolean> {
    const [row] = await this.ds.query(`SELECT count(*)::int AS n FROM permit_outbox WHERE id = ANY($1::bigint[]) AND delivered_at IS NULL`, [
      factIds,
    ]);
    return row.n === 0;
  }

  /** True when one of these facts is stuck, or waits directly behind a stuck fact: nobody will deliver it unless an operator acts. */
  private async heldByStuck(factIds: string[]): Promise<boolean> {
    const [row] = await this.ds.query(
      `SELECT EXISTS (
         SELECT 1 FROM permit_outbox f
          WHERE f.id = ANY($1::bigint[]) AND f.delivered_at IS NULL
            AND (f.stuck_at IS NOT NULL OR EXISTS (
              SELECT 1 FROM permit_outbox s
               WHERE s.delivered_at IS NULL AND s.stuck_at IS NOT NULL AND s.id < f.id
                 AND (s.changed_keys && f.object_keys OR s.object_keys && f.changed_keys)))) AS held`,
      [factIds],
    );
    return row.held === true;
  }

  /**
   * While this replica holds the delivery lock, delivers waves of the facts nothing holds back,
   * for at most BATCH_MS or BATCH_MAX facts: their acknowledgements commit together, which
   * spares a commit per fact while keeping the lock hand-over and the acknowledgement delay
   * short. `failed` collects the facts that failed in this drain, so none is tried twice.
   */
  private deliverBatch(urgent: boolean, failed: string[]): Promise<Step> {
    return this.ds.transaction(async (m): Promise<Step> => {
      const [{ locked }] = await m.query(`SELECT pg_try_advisory_xact_lock($1) AS locked`, [DELIVERY_LOCK]);
      if (!locked) return "busy";
      const started = Date.now();
      let sent = 0;
      let delivered = 0;
      let unavailable = false;
      while (!unavailable && sent < BATCH_MAX && Date.now() - started < BATCH_MS) {
        const rows = await this.wave(m, urgent, failed, BATCH_MAX - sent);
        if (rows.length === 0) break;
        const acknowledged: string[] = [];
        for (const row of rows) {
          sent++;
          try {
            await this.sink(factOf(row));
            acknowledged.push(row.id);
          } catch (error) {
            failed.push(row.id);
            await this.recordFailure(m, row, error);
            // Permit is unreachable or failing, not this fact: trying the others now would only
            // multiply failed calls (and timeouts). A refusal concerns this fact alone: go on.
            unavailable = failureKind(error) === "transient";
            if (unavailable) this.unavailableUntil = Date.now() + UNAVAILABLE_PAUSE_MS;
          }
          if (unavailable || Date.now() - started >= BATCH_MS) break;
        }
        if (acknowledged.length > 0) {
          // Seen by the next wave (same transaction): the facts behind these are deliverable now.
          await m.query(`UPDATE permit_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])`, [
            acknowledged,
          ]);
          delivered += acknowledged.length;
        }
      }
      return delivered > 0 && !unavailable ? "delivered" : "idle";
    });
  }

  /**
   * Up to `max` facts nothing holds back, from a head of the queue long enough to hold them: it
   * grows while the facts read so far are held back (behind a stuck fact, say) and more are
   * pending, and the next wave starts from the length that sufficed.
   */
  private async wave(m: EntityManager, urgent: boolean, failed: readonly string[], max: number): Promise<Sending[]> {
    for (let length = this.headLength; ; length *= 4) {
      const { read, facts } = await nextWave(m, { length, urgent, failed, max });
      if (facts.length === max || read < length) {
        this.headLength = Math.max(MIN_HEAD, Math.min(length, 2 * read));
        return facts;
      }
    }
  }

  private async recordFailure(m: EntityManager, row: Sending, error: unknown): Promise<void> {
    const attempts = row.attempts + 1;
    const rejected = failureKind(error) === "rejected";
    const rejections = row.rejections + (rejected ? 1 : 0);
    const stuck = rejected && rejections >= MAX_REJECTIONS;
    const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempts, 12));
    const message = String((error as Error)?.message ?? error).slice(0, 500);
    await m.query(
      // The wait never exceeds half the time the fact has been waiting: attempts pile up fast
      // while mutations retry urgently during an outage, and a short outage must not leave
      // the outbox idle for a minute once the PDP is back.
      `UPDATE permit_outbox SET attempts = $2, rejections = $3, last_error = $4,
              next_attempt_at = now() + least(($5 || ' milliseconds')::interval, greatest(interval '1 second', (now() - created_at) / 2)),
              stuck_at = CASE WHEN $6 THEN now() END
        WHERE id = $1`,
      [row.id, attempts, rejections, message, String(backoff), stuck],
    );
    const entry = { factId: row.id, fact: row.kind, objects: row.object_keys, attempts, rejections };
    if (stuck) {
      // The facts of its objects wait behind it until an operator retries or skips it.
      this.logger.error({ ...entry, answer: message }, "fact stuck: Permit refused it every time; its objects' facts wait (npm run permit -- outbox)");
    } else {
      this.logger.warn({ ...entry, err: error, rejected }, "fact not delivered; will retry");
    }
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
