import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * The change feed's durable log (changes/change-log.ts): one row per change to a note or to who
 * may read a workspace, written in the transaction of the change. `tx` is the writing
 * transaction's id: readers take only rows below the oldest transaction still in flight
 * (`pg_snapshot_xmin`), in (tx, id) order, so a row committed late can never land behind a
 * position a reader has passed (docs/decisions.md, 2026-12-06).
 *
 * `note_changes_trimmed` holds the position up to which retention removed rows: a cursor at or
 * below it gets RESYNC_REQUIRED.
 *
 * `live_subscribers` goes: a deletion's audience is now decided among the note's workspace
 * members, and everyone else is decided when the change is read.
 */
export class NoteChanges1764900000000 implements MigrationInterface {
  name = "NoteChanges1764900000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "note_changes" (
        "id" bigserial PRIMARY KEY,
        "tx" xid8 NOT NULL DEFAULT pg_current_xact_id(),
        "kind" text NOT NULL,
        "note_id" uuid,
        "workspace_id" uuid,
        "owner_id" uuid,
        "version" integer,
        "audience" uuid[],
        "fact_ids" bigint[] NOT NULL DEFAULT '{}',
        "at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT clock_timestamp()
      )`);
    await q.query(`CREATE INDEX "IDX_note_changes_position" ON "note_changes" ("tx", "id")`);
    await q.query(`CREATE INDEX "IDX_note_changes_workspace" ON "note_changes" ("workspace_id", "tx", "id")`);
    await q.query(`CREATE INDEX "IDX_note_changes_at" ON "note_changes" ("at")`);
    await q.query(`
      CREATE TABLE "note_changes_trimmed" (
        "singleton" boolean PRIMARY KEY DEFAULT true CHECK ("singleton"),
        "tx" xid8 NOT NULL,
        "id" bigint NOT NULL
      )`);
    await q.query(`INSERT INTO "note_changes_trimmed" ("tx", "id") VALUES ('0', 0)`);
    await q.query(`DROP TABLE "live_subscribers"`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "live_subscribers" (
        "replica_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "workspace_id" uuid,
        "lease_until" TIMESTAMP(3) WITH TIME ZONE NOT NULL
      )`);
    await q.query(
      `CREATE UNIQUE INDEX "UQ_live_subscribers" ON "live_subscribers" ("replica_id", "user_id", coalesce("workspace_id", '00000000-0000-0000-0000-000000000000'::uuid))`,
    );
    await q.query(`DROP TABLE "note_changes_trimmed"`);
    await q.query(`DROP TABLE "note_changes"`);
  }
}
