/**
 * Which users are subscribed to live note events, across replicas: a writer deleting a note
 * asks it who to decide the DELETED event for (deletion-readers.ts), before the deletion
 * reaches the PDP.
 *
 * A replica keeps one row per (user, workspace filter) it serves, however many subscriptions
 * share it, under a lease it renews; the rows of a replica that died expire with the lease.
 * Writes are queued one after the other, so a quick unsubscribe and resubscribe land in order.
 * A write that fails is logged and healed at the next renewal: the subscription itself goes on.
 */
import type { DataSource } from "typeorm";
import type { Logger } from "../common/logger";

export interface SubscriberRegistryOptions {
  ds: DataSource;
  /** This process, one id per start. */
  replicaId: string;
  logger: Logger;
  /** How long a row stays valid without renewal; renewed every third of it. */
  leaseMs?: number;
}

const keyOf = (userId: string, workspaceId: string | null) => `${userId} ${workspaceId ?? ""}`;

export class SubscriberRegistry {
  private readonly counts = new Map<string, { userId: string; workspaceId: string | null; n: number }>();
  private queue: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private readonly ds: DataSource;
  private readonly replicaId: string;
  private readonly logger: Logger;
  private readonly leaseMs: number;

  constructor(options: SubscriberRegistryOptions) {
    this.ds = options.ds;
    this.replicaId = options.replicaId;
    this.logger = options.logger;
    this.leaseMs = options.leaseMs ?? 30_000;
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.renew(), Math.max(1, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  /** Stops renewing and removes this replica's rows. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.counts.clear();
    await this.enqueue("remove this replica's subscribers", () => this.ds.query(`DELETE FROM live_subscribers WHERE replica_id = $1`, [this.replicaId]));
  }

  /** Resolves once the row is written (or its write failed and was logged). */
  add(userId: string, workspaceId: string | null): Promise<void> {
    const key = keyOf(userId, workspaceId);
    const entry = this.counts.get(key) ?? { userId, workspaceId, n: 0 };
    entry.n += 1;
    this.counts.set(key, entry);
    if (entry.n > 1) return this.queue;
    return this.enqueue("register a subscriber", () => this.upsert([entry]));
  }

  remove(userId: string, workspaceId: string | null): Promise<void> {
    const key = keyOf(userId, workspaceId);
    const entry = this.counts.get(key);
    if (!entry) return this.queue;
    entry.n -= 1;
    if (entry.n > 0) return this.queue;
    this.counts.delete(key);
    return this.enqueue("unregister a subscriber", () =>
      this.ds.query(`DELETE FROM live_subscribers WHERE replica_id = $1 AND user_id = $2 AND workspace_id IS NOT DISTINCT FROM $3`, [this.replicaId, userId, workspaceId]),
    );
  }

  /**
   * The users subscribed, on any replica, to events that a note in `workspaceId` (null: a
   * personal note) would reach: those following every note, and those following its workspace.
   */
  async subscribedUsers(workspaceId: string | null): Promise<string[]> {
    const rows = (await this.ds.query(
      `SELECT DISTINCT user_id FROM live_subscribers WHERE lease_until > now() AND (workspace_id IS NULL OR workspace_id = $1::uuid)`,
      [workspaceId],
    )) as { user_id: string }[];
    return rows.map((r) => r.user_id);
  }

  /** Renews this replica's rows (writing back any a failed write lost) and clears long-expired ones. */
  private renew(): Promise<void> {
    return this.enqueue("renew the subscribers' lease", async () => {
      if (this.counts.size > 0) await this.upsert([...this.counts.values()]);
      await this.ds.query(`DELETE FROM live_subscribers WHERE lease_until < now() - interval '1 hour'`);
    });
  }

  private upsert(entries: { userId: string; workspaceId: string | null }[]): Promise<unknown> {
    return this.ds.query(
      `INSERT INTO live_subscribers (replica_id, user_id, workspace_id, lease_until)
       SELECT $1, u, w, now() + $4 * interval '1 millisecond' FROM unnest($2::uuid[], $3::uuid[]) AS t(u, w)
       ON CONFLICT (replica_id, user_id, coalesce(workspace_id, '00000000-0000-0000-0000-000000000000'::uuid))
       DO UPDATE SET lease_until = EXCLUDED.lease_until`,
      [this.replicaId, entries.map((e) => e.userId), entries.map((e) => e.workspaceId), this.leaseMs],
    );
  }

  private enqueue(what: string, write: () => Promise<unknown>): Promise<void> {
    this.queue = this.queue.then(
      () => write().then(() => undefined),
      () => undefined,
    ).catch((err: unknown) => this.logger.warn({ err }, `could not ${what}; the next renewal retries`));
    return this.queue;
  }
}
