/**
 * The outbox as an operator sees it (`npm run permit -- outbox`): the facts not yet
 * acknowledged, stuck ones with what Permit answered and how many facts wait behind them; a
 * stuck fact tried again; a fact removed (once its objects were repaired from the database).
 */
import type { DataSource } from "typeorm";
import { execute } from "../db/sql";

export interface PendingFact {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  objects: string[];
  createdAt: Date;
  attempts: number;
  rejections: number;
  nextAttemptAt: Date;
  lastError: string | null;
  stuckAt: Date | null;
  /** Later pending facts that conflict with this one (wait for it directly); counted for stuck facts only. */
  holdsBack?: number;
}

export interface PendingFacts {
  /** The oldest pending facts, at most the limit asked for. */
  facts: PendingFact[];
  pending: number;
  stuck: number;
}

const COLUMNS = `id::text, kind, payload, object_keys AS objects, created_at AS "createdAt", attempts, rejections,
  next_attempt_at AS "nextAttemptAt", last_error AS "lastError", stuck_at AS "stuckAt"`;

export async function listPendingFacts(ds: DataSource, limit: number): Promise<PendingFacts> {
  const facts = (await ds.query(`SELECT ${COLUMNS} FROM permit_outbox WHERE delivered_at IS NULL ORDER BY permit_outbox.id LIMIT $1`, [limit])) as PendingFact[];
  const [counts] = (await ds.query(
    `SELECT count(*)::int AS pending, count(*) FILTER (WHERE stuck_at IS NOT NULL)::int AS stuck FROM permit_outbox WHERE delivered_at IS NULL`,
  )) as { pending: number; stuck: number }[];
  const stuck = facts.filter((f) => f.stuckAt).map((f) => f.id);
  if (stuck.length > 0) {
    const held = (await ds.query(
      `SELECT s.id::text AS id, count(f.id)::int AS n
         FROM permit_outbox s
         JOIN permit_outbox f ON f.delivered_at IS NULL AND f.id > s.id
                             AND (s.changed_keys && f.object_keys OR s.object_keys && f.changed_keys)
        WHERE s.id = ANY($1::bigint[])
        GROUP BY s.id`,
      [stuck],
    )) as { id: string; n: number }[];
    const byId = new Map(held.map((h) => [h.id, h.n]));
    for (const fact of facts) if (fact.stuckAt) fact.holdsBack = byId.get(fact.id) ?? 0;
  }
  return { facts, pending: counts!.pending, stuck: counts!.stuck };
}

export async function findPendingFact(ds: DataSource, id: string): Promise<PendingFact | undefined> {
  const [fact] = (await ds.query(`SELECT ${COLUMNS} FROM permit_outbox WHERE id = $1 AND delivered_at IS NULL`, [id])) as PendingFact[];
  return fact;
}

/** Clears the stuck mark and the attempts of a pending fact, due at once; undefined when no such fact is pending. */
export async function retryFact(ds: DataSource, id: string): Promise<PendingFact | undefined> {
  const { rows } = await execute<PendingFact>(
    ds,
    `UPDATE permit_outbox SET stuck_at = NULL, attempts = 0, rejections = 0, next_attempt_at = now()
      WHERE id = $1 AND delivered_at IS NULL
    RETURNING ${COLUMNS}`,
    [id],
  );
  return rows[0];
}

/** Removes a pending fact; false when there was none. */
export async function removeFact(ds: DataSource, id: string): Promise<boolean> {
  return (await execute(ds, `DELETE FROM permit_outbox WHERE id = $1 AND delivered_at IS NULL`, [id])).rowCount === 1;
}
