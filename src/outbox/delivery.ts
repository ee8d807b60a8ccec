/**
 * Delivers recorded facts to the policy decision point, in id order, until it acknowledges.
 * A mutation waits (briefly) for its own facts so that the caller's next request is decided
 * on them; if the PDP is down the facts stay recorded and a background loop retries them
 * with backoff, so an outage loses nothing. Replicas share the work through PostgreSQL
 * (`FOR UPDATE SKIP LOCKED`); within one process a single drain runs at a time.
 */
import type { DataSource } from "typeorm";
import type { Logger } from "../logger";
import { factOf, type Fact } from "./facts";
import { OutboxFact } from "./outbox.entity";

export type FactSink = (fact: Fact) => Promise<void>;

export interface FactDeliveryOptions {
  /** How long a mutation waits for its facts before answering anyway. */
  waitMs?: number;
  /** Background retry period. */
  pollMs?: number;
  batchSize?: number;
}

const MAX_BACKOFF_MS = 60_000;

export class FactDelivery {
  private draining: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly waitMs: number;
  private readonly pollMs: number;
  private readonly batchSize: number;

  constructor(
    private readonly ds: DataSource,
    private readonly sink: FactSink,
    private readonly logger: Logger,
    options: FactDeliveryOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 3000;
    this.pollMs = options.pollMs ?? 2000;
    this.batchSize = options.batchSize ?? 50;
  }

  /** Delivers everything pending (the given facts included), waiting at most `waitMs`. */
  async deliver(factIds: string[]): Promise<void> {
    if (factIds.length === 0) return;
    let timeout: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => (timeout = setTimeout(resolve, this.waitMs)));
    await Promise.race([this.drain(), waited]);
    clearTimeout(timeout);
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

  /** Single-flight: a drain requested while one runs makes that one go round once more. */
  drain(): Promise<void> {
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      try {
        do {
          this.again = false;
          while (await this.drainBatch());
        } while (this.again);
      } catch (error) {
        this.logger.warn({ err: error }, "fact delivery paused; will retry");
      } finally {
        this.draining = null;
      }
    })();
    return this.draining;
  }

  /** Delivers one batch; true when a full batch went through and more may be waiting. */
  private async drainBatch(): Promise<boolean> {
    return this.ds.transaction(async (m) => {
      const rows = await m
        .getRepository(OutboxFact)
        .createQueryBuilder("f")
        .setLock("pessimistic_write")
        .setOnLocked("skip_locked")
        .where("f.delivered_at IS NULL")
        .andWhere("f.next_attempt_at <= now()")
        .orderBy("f.id", "ASC")
        .limit(this.batchSize)
        .getMany();
      for (const row of rows) {
        try {
          await this.sink(factOf(row));
        } catch (error) {
          const attempts = row.attempts + 1;
          const backoff = Math.min(MAX_BACKOFF_MS, 250 * 2 ** Math.min(attempts, 12));
          await m.query(
            `UPDATE permit_outbox SET attempts = $2, last_error = $3, next_attempt_at = now() + ($4 || ' milliseconds')::interval WHERE id = $1`,
            [row.id, attempts, String((error as Error)?.message ?? error).slice(0, 500), String(backoff)],
          );
          // Later facts may depend on this one (a role on a workspace that must exist first): stop here.
          this.logger.warn({ err: error, fact: row.kind, attempts }, "fact not delivered; will retry");
          return false;
        }
        await m.query(`UPDATE permit_outbox SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = $1`, [row.id]);
      }
      return rows.length === this.batchSize;
    });
  }
}
