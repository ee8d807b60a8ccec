import type { MigrationInterface, QueryRunner } from "typeorm";

/**
 * Facts are delivered in commit order per object instead of globally (docs/decisions.md,
 * 2026-12-06): each fact names the objects it concerns (`object_keys`) and those it changes
 * (`changed_keys`), and a fact the PDP keeps refusing becomes stuck (`stuck_at`, after
 * `rejections` refusals) and holds back the facts of its objects only.
 *
 * Pending facts get their keys here, computed as `outbox/facts.ts#objectsOf` computes them;
 * delivered ones keep empty arrays (they are never read again). The columns have no default
 * afterwards: a fact written without its keys would be ordered with nothing, so it fails instead.
 */
export class OutboxObjects1765000000000 implements MigrationInterface {
  name = "OutboxObjects1765000000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      ALTER TABLE "permit_outbox"
        ADD COLUMN "object_keys" text[] NOT NULL DEFAULT '{}',
        ADD COLUMN "changed_keys" text[] NOT NULL DEFAULT '{}',
        ADD COLUMN "rejections" integer NOT NULL DEFAULT 0,
        ADD COLUMN "stuck_at" TIMESTAMP(3) WITH TIME ZONE`);
    await q.query(`
      UPDATE "permit_outbox" SET "changed_keys" = CASE "kind"
          WHEN 'workspace.created' THEN ARRAY['workspaces:' || ("payload"->>'workspaceId')]
          WHEN 'workspace.role_set' THEN ARRAY['workspaces:' || ("payload"->>'workspaceId')]
          WHEN 'workspace.role_removed' THEN ARRAY['workspaces:' || ("payload"->>'workspaceId')]
          WHEN 'note.created' THEN ARRAY['notes:' || ("payload"->>'noteId')]
          WHEN 'note.deleted' THEN ARRAY['notes:' || ("payload"->>'noteId')]
          WHEN 'user.deleted' THEN ARRAY['users:' || ("payload"->>'userId')]
          WHEN 'user.email_set' THEN ARRAY['users:' || ("payload"->>'userId')]
          -- A kind this migration does not know keeps the old guarantee: ordered with every other fact of that kind.
          ELSE ARRAY['kinds:' || "kind"]
        END
        WHERE "delivered_at" IS NULL`);
    await q.query(`
      UPDATE "permit_outbox" SET "object_keys" = "changed_keys" || CASE "kind"
          WHEN 'workspace.created' THEN ARRAY['users:' || ("payload"->>'ownerId')]
          WHEN 'workspace.role_set' THEN ARRAY['users:' || ("payload"->>'userId')]
          WHEN 'workspace.role_removed' THEN ARRAY['users:' || ("payload"->>'userId')]
          WHEN 'note.created' THEN CASE WHEN "payload"->>'workspaceId' IS NULL THEN '{}'::text[] ELSE ARRAY['workspaces:' || ("payload"->>'workspaceId')] END
          ELSE '{}'::text[]
        END
        WHERE "delivered_at" IS NULL`);
    await q.query(`ALTER TABLE "permit_outbox" ALTER COLUMN "object_keys" DROP DEFAULT, ALTER COLUMN "changed_keys" DROP DEFAULT`);
    // The deliverer reads the keys from the head of the queue (IDX_permit_outbox_pending); what
    // looks up the stuck facts (metrics, mutations asking whether theirs waits behind one) reads these.
    await q.query(`CREATE INDEX "IDX_permit_outbox_stuck" ON "permit_outbox" ("id") WHERE "delivered_at" IS NULL AND "stuck_at" IS NOT NULL`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_permit_outbox_stuck"`);
    await q.query(`ALTER TABLE "permit_outbox" DROP COLUMN "stuck_at", DROP COLUMN "rejections", DROP COLUMN "changed_keys", DROP COLUMN "object_keys"`);
  }
}
