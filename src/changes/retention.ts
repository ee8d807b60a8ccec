/**
 * Keeps the change log to its retention (`NOTE_CHANGES_RETENTION_DAYS`): every interval, each
 * replica removes at most a bounded number of the oldest expired rows (one replica at a time,
 * under an advisory lock), and passes again at once while a full pass found more. A cursor
 * before what was removed gets RESYNC_REQUIRED.
 */
import type { Logger } from "../common/logger";
import type { ChangeLogRepository } from "./change-log.repository";

/** Rows removed per pass: a short transaction, whatever the backlog. */
export const TRIM_BATCH = 1000;
const DAY_MS = 86_400_000;

export class ChangeRetention {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | null = null;

  constructor(
    private readonly log: ChangeLogRepository,
    private readonly options: { retentionDays: number; intervalMs: number; logger: Logger },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.trim(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One run: passes of at most TRIM_BATCH rows until a pass removes fewer. */
  trim(): Promise<void> {
    this.running ??= (async () => {
      try {
        const before = new Date(Date.now() - this.options.retentionDays * DAY_MS);
        let removed = 0;
        for (;;) {
          const n = await this.log.trim(before, TRIM_BATCH);
          removed += n;
          if (n < TRIM_BATCH) break;
        }
        if (removed > 0) this.options.logger.info({ removed, before }, "change log trimmed to its retention");
      } catch (error) {
        this.options.logger.warn({ err: error }, "the change log could not be trimmed; the next pass retries");
      } finally {
        this.running = null;
      }
    })();
    return this.running;
  }
}
