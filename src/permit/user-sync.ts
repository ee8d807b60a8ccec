/**
 * Lazy user sync: the first authenticated request of a user creates them in the PDP with the
 * tenant role `user`, exactly once across replicas. A claim on the user's row in PostgreSQL
 * lets one replica sync while the others wait for it; once `users.permit_synced_at` is set,
 * nobody calls the PDP for that user again (so a role removed in Permit stays removed). A
 * failed sync answers AUTHZ_UNAVAILABLE and is tried again on the next request. The claim and
 * the sync go through the PDP circuit breaker: while it is open, a newcomer is refused at once
 * (no wait for Permit's timeout) and the claim stays free, so their next request, on any replica,
 * tries again. Who was already seen in this process is remembered by `users/first-sight.ts`.
 */
import type { DataSource } from "typeorm";
import { execute } from "../db/sql";
import { authzUnavailable } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import type { PdpBreaker } from "./breaker";
import type { PermitFacts } from "./fact-writer";

/** How long a replica may hold the claim before another one may take over. */
const CLAIM_MS = 15_000;
const WAIT_STEP_MS = 50;
/** A user found present in Permit is not asked about again for this long (per process). */
const RECHECK_MS = 60_000;
const RECHECK_MAX = 10_000;

export interface UserSyncOptions {
  ds: DataSource;
  facts: Pick<PermitFacts, "syncUser" | "userExists">;
  /** The PDP circuit breaker of the process: a newcomer's sync is refused while it is open. */
  breaker: Pick<PdpBreaker, "run">;
  logger: Logger;
  /** How long a request waits for another replica's sync of the same user. */
  timeoutMs?: number;
  metrics?: Pick<Metrics, "userSyncs">;
}

export class UserSync {
  private readonly ds: DataSource;
  private readonly facts: Pick<PermitFacts, "syncUser" | "userExists">;
  private readonly breaker: Pick<PdpBreaker, "run">;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly metrics?: Pick<Metrics, "userSyncs">;

  constructor(options: UserSyncOptions) {
    this.ds = options.ds;
    this.facts = options.facts;
    this.breaker = options.breaker;
    this.logger = options.logger;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.metrics = options.metrics;
  }

  /** Resolves once the user is known to the PDP; the users row must exist already. */
  async ensure(user: { userId: string; email?: string }): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    for (;;) {
      // The claim is taken inside the breaker's call, so a refusal leaves it free. A write to
      // Permit's API, not a decision: it never trips the circuit, and is let through while the
      // circuit is half-open, since the request's decisions come after it (permit/breaker.ts).
      const claimed = await this.breaker.run("user_sync", () => this.claimAndSync(user), { trips: false, whileHalfOpen: "admit" });
      if (claimed) return;
      const [state] = await this.ds.query(`SELECT permit_synced_at FROM users WHERE id = $1`, [user.userId]);
      if (state?.permit_synced_at) return;
      // Another replica holds the claim: wait for it to finish (or for its claim to lapse).
      if (Date.now() > deadline) throw authzUnavailable(new Error("user sync by another replica did not finish in time"));
      await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
    }
  }

  private readonly rechecked = new Map<string, number>();

  /**
   * Lazy re-sync, called only on evidence that Permit lost the user (the PDP lists no tenant
   * role for someone synced before): one REST read of the user; when Permit answers 404, the
   * sync mark is cleared and the user is synced again (role `user`, email). Throttled per user,
   * so a user whose roles were all taken away by hand costs one read a minute, not one a request.
   * Answers true when the user was synced again.
   */
  async resyncIfMissing(user: { userId: string; email?: string }): Promise<boolean> {
    const now = Date.now();
    const last = this.rechecked.get(user.userId);
    if (last !== undefined && now - last < RECHECK_MS) return false;
    if (this.rechecked.size >= RECHECK_MAX) this.rechecked.clear();
    this.rechecked.set(user.userId, now);
    let exists: boolean;
    try {
      exists = await this.facts.userExists(user.userId);
    } catch (error) {
      this.rechecked.delete(user.userId);
      throw authzUnavailable(error);
    }
    if (exists) return false;
    this.logger.warn({ user: user.userId }, "user missing in Permit; syncing again");
    await this.ds.query(`UPDATE users SET permit_synced_at = NULL WHERE id = $1 AND deleted_at IS NULL`, [user.userId]);
    await this.ensure(user);
    this.rechecked.delete(user.userId);
    return true;
  }

  /** False when another replica holds the claim: nothing was sent. */
  private async claimAndSync(user: { userId: string; email?: string }): Promise<boolean> {
    const claim = await execute(
      this.ds,
      `UPDATE users SET permit_sync_claimed_until = now() + ($2 || ' milliseconds')::interval
        WHERE id = $1 AND permit_synced_at IS NULL
          AND (permit_sync_claimed_until IS NULL OR permit_sync_claimed_until < now())
      RETURNING id`,
      [user.userId, String(CLAIM_MS)],
    );
    if (claim.rowCount !== 1) return false;
    await this.syncClaimed(user);
    return true;
  }

  private async syncClaimed(user: { userId: string; email?: string }): Promise<void> {
    try {
      await this.facts.syncUser({ key: user.userId, email: user.email });
      await this.ds.query(`UPDATE users SET permit_synced_at = now(), permit_sync_claimed_until = NULL WHERE id = $1`, [user.userId]);
      this.metrics?.userSyncs.inc({ result: "synced" });
    } catch (error) {
      // Release the claim so that the next request (on any replica) tries again at once.
      await this.ds.query(`UPDATE users SET permit_sync_claimed_until = NULL WHERE id = $1`, [user.userId]).catch(() => undefined);
      this.logger.warn({ err: error, user: user.userId }, "user sync failed");
      this.metrics?.userSyncs.inc({ result: "failed" });
      throw authzUnavailable(error);
    }
  }
}
