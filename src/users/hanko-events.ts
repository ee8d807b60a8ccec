/**
 * What a verified Hanko webhook changes (reference: hanko.md §2.2). Each event is applied in one
 * transaction that also records the facts the PDP must learn (the outbox delivers them, so a PDP
 * outage loses nothing), and every event can be replayed: Hanko sends once, without retries, but
 * an operator or a proxy may send twice.
 *
 * - `user.delete`: the user becomes a tombstone (`deleted_at` set, email cleared; the row stays
 *   so that notes they wrote in workspaces keep their author, and so that first sight never
 *   recreates them). Their personal notes are deleted, their memberships removed; facts: each
 *   note deleted, each workspace role removed, then the Permit user with all their roles.
 *   A workspace whose last owner this was keeps its notes and its `owner_id` (the creator);
 *   with no owner member left, only tenant roles that grant workspace actions (admin) manage it.
 * - `user.update.email.*`: the stored email becomes the user's primary address in `data`.
 * - anything else: ignored.
 */
import type { DataSource, EntityManager } from "typeorm";
import type { Logger } from "../common/logger";
import { isUuid } from "../common/validation";
import { execute } from "../db/sql";
import type { FactDelivery } from "../outbox/delivery";
import { recordFacts, type Fact } from "../outbox/facts";
import { logNoteDeletions, logWorkspaceAccess, type DeletionAudience } from "../changes/change-log";

export type HankoEventOutcome =
  | { handled: false; reason: "unknown_event" | "no_user_in_data" }
  | { handled: true; action: "user_deleted" | "already_deleted" | "email_updated" | "email_unchanged" | "user_unknown"; factIds: string[] };

/** The user id and primary email of an admin User DTO (`data` of `user.*` events). */
export function userOfData(data: Record<string, unknown>): { userId: string; primaryEmail: string | null } | undefined {
  const id = data.id;
  if (typeof id !== "string" || !isUuid(id)) return undefined;
  const emails = Array.isArray(data.emails) ? (data.emails as unknown[]) : [];
  const primary = emails.find((e): e is { address: string } => {
    const x = e as { address?: unknown; is_primary?: unknown } | null;
    return typeof x === "object" && x !== null && x.is_primary === true && typeof x.address === "string" && x.address.length > 0 && x.address.length <= 254;
  });
  return { userId: id.toLowerCase(), primaryEmail: primary ? primary.address.toLowerCase() : null };
}

export class HankoEvents {
  constructor(
    private readonly ds: DataSource,
    private readonly delivery: Pick<FactDelivery, "drain">,
    private readonly logger: Logger,
    /** Who could read the notes a deletion removes, decided before they go (authz/deletion-audience.ts). */
    private readonly deletionAudience: DeletionAudience,
  ) {}

  /** Applies the event and starts delivering its facts without waiting for the PDP. */
  async apply(event: string, data: Record<string, unknown>): Promise<HankoEventOutcome> {
    const outcome = await this.applyStored(event, data);
    if (outcome.handled && outcome.factIds.length > 0) void this.delivery.drain();
    this.logger.info({ hankoEvent: event, ...(outcome.handled ? { action: outcome.action, facts: outcome.factIds.length } : { ignored: outcome.reason }) }, "hanko webhook");
    return outcome;
  }

  private async applyStored(event: string, data: Record<string, unknown>): Promise<HankoEventOutcome> {
    const isDelete = event === "user.delete";
    const isEmail = event.startsWith("user.update.email.");
    if (!isDelete && !isEmail) return { handled: false, reason: "unknown_event" };
    const user = userOfData(data);
    if (!user) return { handled: false, reason: "no_user_in_data" };
    return isDelete ? this.deleteUser(user.userId) : this.setEmail(user.userId, user.primaryEmail);
  }

  private async deleteUser(userId: string): Promise<HankoEventOutcome> {
    // Who may see the deletion of each personal note is decided before the notes go (as a
    // deleteNote does): afterwards the deletions' facts may already have reached the PDP.
    const owned = (await this.ds.query(`SELECT id, owner_id AS "ownerId", workspace_id AS "workspaceId" FROM notes WHERE owner_id = $1 AND workspace_id IS NULL`, [userId])) as {
      id: string;
      ownerId: string;
      workspaceId: null;
    }[];
    const audience = owned.length > 0 ? await this.deletionAudience(owned) : new Map<string, string[]>();
    return this.ds.transaction(async (m) => {
      // A non-key lock: foreign-key checks of concurrent writers (KEY SHARE) are not blocked, so
      // this never deadlocks with a share that holds a workspace row and inserts a membership.
      const [row] = (await m.query(`SELECT deleted_at FROM users WHERE id = $1 FOR NO KEY UPDATE`, [userId])) as { deleted_at: Date | null }[];
      if (row?.deleted_at) return { handled: true, action: "already_deleted", factIds: [] };
      if (!row) {
        // Never seen here: the tombstone alone keeps an unexpired token from creating them.
        await m.query(`INSERT INTO users (id, email, deleted_at) VALUES ($1, NULL, now()) ON CONFLICT (id) DO NOTHING`, [userId]);
        const [again] = (await m.query(`SELECT deleted_at FROM users WHERE id = $1 FOR NO KEY UPDATE`, [userId])) as { deleted_at: Date | null }[];
        if (again?.deleted_at) return { handled: true, action: "user_deleted", factIds: await recordFacts(m, [{ kind: "user.deleted", userId }]) };
      }
      await m.query(`UPDATE users SET deleted_at = now(), email = NULL, permit_sync_claimed_until = NULL WHERE id = $1`, [userId]);
      const facts: Fact[] = [];
      facts.push(...(await this.removeMemberships(m, userId)));
      const notes = await execute<{ id: string; version: number }>(
        m,
        `DELETE FROM notes WHERE owner_id = $1 AND workspace_id IS NULL RETURNING id, version`,
        [userId],
      );
      facts.push(...notes.rows.map((n): Fact => ({ kind: "note.deleted", noteId: n.id })));
      // A note created after its audience was decided is seen by those the PDP allows when it is read.
      await logNoteDeletions(
        m,
        notes.rows.map((n) => ({ id: n.id, version: n.version, ownerId: userId, workspaceId: null })),
        (noteId) => audience.get(noteId) ?? [],
      );
      facts.push({ kind: "user.deleted", userId });
      return { handled: true, action: "user_deleted", factIds: await recordFacts(m, facts) };
    });
  }

  /** Removes every membership, holding each workspace's row (as shares do) so facts stay in commit order. */
  private async removeMemberships(m: EntityManager, userId: string): Promise<Fact[]> {
    const members = (await m.query(`SELECT workspace_id FROM workspace_members WHERE user_id = $1`, [userId])) as { workspace_id: string }[];
    if (members.length === 0) return [];
    const ids = members.map((x) => x.workspace_id);
    await m.query(`SELECT id FROM workspaces WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE`, [ids]);
    const removed = await execute<{ workspace_id: string }>(m, `DELETE FROM workspace_members WHERE user_id = $1 RETURNING workspace_id`, [userId]);
    await logWorkspaceAccess(m, "WORKSPACE_REVOKED", removed.rows.map((r) => ({ workspaceId: r.workspace_id, userId, factIds: [] })));
    return removed.rows.map((r): Fact => ({ kind: "workspace.role_removed", workspaceId: r.workspace_id, userId }));
  }

  private setEmail(userId: string, email: string | null): Promise<HankoEventOutcome> {
    return this.ds.transaction(async (m) => {
      const [row] = (await m.query(`SELECT email, deleted_at FROM users WHERE id = $1 FOR UPDATE`, [userId])) as { email: string | null; deleted_at: Date | null }[];
      // Not seen yet (their first request records the token's email) or deleted: nothing to refresh.
      if (!row || row.deleted_at) return { handled: true, action: "user_unknown", factIds: [] };
      if (row.email === email) {
        await m.query(`UPDATE users SET email_updated_at = now() WHERE id = $1`, [userId]);
        return { handled: true, action: "email_unchanged", factIds: [] };
      }
      if (email !== null) await m.query(`UPDATE users SET email = NULL WHERE lower(email) = lower($1) AND id <> $2`, [email, userId]);
      await m.query(`UPDATE users SET email = $2, email_updated_at = now() WHERE id = $1`, [userId, email]);
      return { handled: true, action: "email_updated", factIds: await recordFacts(m, [{ kind: "user.email_set", userId, email }]) };
    });
  }
}
