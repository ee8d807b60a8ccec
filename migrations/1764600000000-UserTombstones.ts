import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * A user deleted in Hanko (webhook `user.delete`) keeps a tombstone row: `deleted_at` set, email
 * cleared. The row stays so that `notes.owner_id` and `workspaces.owner_id` of what they wrote in
 * workspaces keep their foreign keys, and so that the lazy first-sight sync never recreates them.
 */
export class UserTombstones1764600000000 implements MigrationInterface {
  name = "UserTombstones1764600000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" ADD "deleted_at" TIMESTAMP(3) WITH TIME ZONE`);
    // When the webhook set the email: a session token issued before it carries an older address.
    await q.query(`ALTER TABLE "users" ADD "email_updated_at" TIMESTAMP(3) WITH TIME ZONE`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`ALTER TABLE "users" DROP COLUMN "email_updated_at"`);
    await q.query(`ALTER TABLE "users" DROP COLUMN "deleted_at"`);
  }
}
