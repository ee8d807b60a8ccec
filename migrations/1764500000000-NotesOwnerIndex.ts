import type { MigrationInterface, QueryRunner } from "typeorm";

/** List plans that select a caller's own notes (`owner_id = $caller`) page through this index in keyset order. */
export class NotesOwnerIndex1764500000000 implements MigrationInterface {
  name = "NotesOwnerIndex1764500000000";

  async up(q: QueryRunner): Promise<void> {
    await q.query(`CREATE INDEX "IDX_notes_owner_created_id" ON "notes" ("owner_id", "created_at" DESC, "id" DESC)`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP INDEX "IDX_notes_owner_created_id"`);
  }
}
