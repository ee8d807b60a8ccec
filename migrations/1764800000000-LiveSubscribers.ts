import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Who is subscribed to live note events, on which replica: a writer that deletes a note decides
 * which of them could read it before the deletion reaches the PDP (live/subscriber-registry.ts).
 * A row per (replica, user, workspace filter); `workspace_id` NULL means every readable note.
 * Rows of a replica that died expire with their lease.
 */
export class LiveSubscribers1764800000000 implements MigrationInterface {
  name = "LiveSubscribers1764800000000";

  async up(q: QueryRunner): Promise<void> {
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
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "live_subscribers"`);
  }
}
