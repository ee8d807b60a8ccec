import type { MigrationInterface, QueryRunner } from "typeorm";

/** The policy history: one row per `npm run permit:apply` that changed the Permit environment. */
export class PolicyChanges1764700000000 implements MigrationInterface {
  name = "PolicyChanges1764700000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      CREATE TABLE "policy_changes" (
        "id" BIGSERIAL NOT NULL,
        "applied_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "actor" text NOT NULL,
        "target" text NOT NULL,
        "summary" jsonb NOT NULL,
        "policy_hash" text NOT NULL,
        CONSTRAINT "PK_policy_changes" PRIMARY KEY ("id")
      )`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "policy_changes"`);
  }
}
