import type { MigrationInterface, QueryRunner } from "typeorm";

/** The whole data model of the public contract: users, workspaces and members, notes, the facts outbox. */
export class InitialSchema1764370000000 implements MigrationInterface {
  name = "InitialSchema1764370000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE EXTENSION IF NOT EXISTS "pgcrypto"`);
    await q.query(`
      CREATE TABLE "users" (
        "id" uuid NOT NULL,
        "email" text,
        "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "permit_synced_at" TIMESTAMP WITH TIME ZONE,
        "permit_sync_claimed_until" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "PK_users" PRIMARY KEY ("id")
      )`);
    // Sharing looks users up by email; one account per address.
    await q.query(`CREATE UNIQUE INDEX "UQ_users_email" ON "users" (lower("email")) WHERE "email" IS NOT NULL`);

    await q.query(`
      CREATE TABLE "workspaces" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "name" text NOT NULL,
        "owner_id" uuid NOT NULL,
        "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_workspaces" PRIMARY KEY ("id"),
        CONSTRAINT "FK_workspaces_owner" FOREIGN KEY ("owner_id") REFERENCES "users"("id")
      )`);

    await q.query(`
      CREATE TABLE "workspace_members" (
        "workspace_id" uuid NOT NULL,
        "user_id" uuid NOT NULL,
        "role" text NOT NULL,
        "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_workspace_members" PRIMARY KEY ("workspace_id", "user_id"),
        CONSTRAINT "CHK_workspace_members_role" CHECK ("role" IN ('OWNER', 'EDITOR', 'VIEWER')),
        CONSTRAINT "FK_workspace_members_workspace" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id") ON DELETE CASCADE,
        CONSTRAINT "FK_workspace_members_user" FOREIGN KEY ("user_id") REFERENCES "users"("id") ON DELETE CASCADE
      )`);
    // `workspaces` lists the caller's memberships.
    await q.query(`CREATE INDEX "IDX_workspace_members_user" ON "workspace_members" ("user_id")`);

    await q.query(`
      CREATE TABLE "notes" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "title" text NOT NULL,
        "body" text NOT NULL,
        "owner_id" uuid NOT NULL,
        "workspace_id" uuid,
        "version" integer NOT NULL,
        "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "PK_notes" PRIMARY KEY ("id"),
        CONSTRAINT "FK_notes_owner" FOREIGN KEY ("owner_id") REFERENCES "users"("id"),
        CONSTRAINT "FK_notes_workspace" FOREIGN KEY ("workspace_id") REFERENCES "workspaces"("id")
      )`);
    // Keyset pagination: ORDER BY created_at DESC, id DESC, with and without a workspace filter.
    await q.query(`CREATE INDEX "IDX_notes_created_id" ON "notes" ("created_at" DESC, "id" DESC)`);
    await q.query(`CREATE INDEX "IDX_notes_workspace_created_id" ON "notes" ("workspace_id", "created_at" DESC, "id" DESC)`);

    await q.query(`
      CREATE TABLE "permit_outbox" (
        "id" BIGSERIAL NOT NULL,
        "kind" text NOT NULL,
        "payload" jsonb NOT NULL,
        "created_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" TIMESTAMP(3) WITH TIME ZONE NOT NULL DEFAULT now(),
        "last_error" text,
        "delivered_at" TIMESTAMP(3) WITH TIME ZONE,
        CONSTRAINT "PK_permit_outbox" PRIMARY KEY ("id")
      )`);
    // The deliverer only ever looks at undelivered rows.
    await q.query(`CREATE INDEX "IDX_permit_outbox_pending" ON "permit_outbox" ("id") WHERE "delivered_at" IS NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TABLE "permit_outbox"`);
    await q.query(`DROP TABLE "notes"`);
    await q.query(`DROP TABLE "workspace_members"`);
    await q.query(`DROP TABLE "workspaces"`);
    await q.query(`DROP TABLE "users"`);
  }
}
