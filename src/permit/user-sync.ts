/**
 * Lazy user sync: the first authenticated request of a user creates them in the PDP with the
 * tenant role `user` — exactly once. Within a process concurrent first requests share one
 * attempt (single-flight); across replicas a claim row in PostgreSQL lets one replica sync
 * while the others wait for it. Later requests are answered from memory or from
 * `users.permit_synced_at`, with no call to the PDP. A failed sync answers AUTHZ_UNAVAILABLE
 * and is tried again on the next request.
 */
import type { DataSource } from "typeorm";
import { execute } from "../db/sql";
import { authzUnavailable } from "../common/errors";
import type { Logger } from "../common/logger";
import type { PermitFacts } from "./fact-writer";

/** How long a replica may hold the claim before another one may take over. */
const CLAIM_MS = 15_000;
const WAIT_STEP_MS = 50;
const KNOWN_MAX = 100_000;

export class UserSync {
  private readonly synced = new Set<string>();
  private readonly inFlight = new Map<string, Promise<void>>();

  constructor(
    private readonly ds: DataSource,
    private readonly facts: Pick<PermitFacts, "syncUser">,
    private readonly logger: Logger,
    private readonly timeoutMs = 5000,
  ) {}

  /** Resolves once the user is known to the PDP; the users row must exist already. */
  ensure(user: { key: string; email?: string }): Promise<void> {
    if (this.synced.has(user.key)) return Promise.resolve();
    let pending = this.inFlight.get(user.key);
    if (!pending) {
      pending = this.sync(user).finally(() => this.inFlight.delete(user.key));
      this.inFlight.set(user.key, pending);
    }
    return pending;
  }

  private async sync(user: { key: string; email?: string }): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      const claim = await execute(
        this.ds,
        `UPDATE users SET permit_sync_claimed_until = now() + ($2 || ' milliseconds')::interval
          WHERE id = $1 AND permit_synced_at IS NULL
            AND (permit_sync_claimed_until IS NULL OR permit_sync_claimed_until < now())
        RETURNING id`,
        [user.key, String(CLAIM_MS)],
      );
      if (claim.rowCount === 1) return this.syncClaimed(user);
      const [state] = await this.ds.query(`SELECT permit_synced_at FROM users WHERE id = $1`, [user.key]);
      if (state?.permit_synced_at) return this.remember(user.key);
      // Another replica holds the claim: wait for it to finish (or for its claim to lapse).
      if (Date.now() > deadline) throw authzUnavailable(new Error("user sync by another replica did not finish in time"));
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
  }

  private async syncClaimed(user: { key: string; email?: string }): Promise<void> {
    try {
      await this.facts.syncUser(user);
      await this.ds.query(`UPDATE users SET permit_synced_at = now(), permit_sync_claimed_until = NULL WHERE id = $1`, [user.key]);
      this.remember(user.key);
    } catch (error) {
      // Release the claim so that the next request (on any replica) tries again at once.
      await this.ds.query(`UPDATE users SET permit_sync_claimed_until = NULL WHERE id = $1`, [user.key]).catch(() => undefined);
      this.logger.warn({ err: error, user: user.key }, "user sync failed");
      throw authzUnavailable(error);
    }
  }

  private remember(key: string): void {
    if (this.synced.size >= KNOWN_MAX) this.synced.clear();
    this.synced.add(key);
  }
}
