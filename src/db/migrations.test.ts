import "reflect-metadata";
import { createDataSource } from "./data-source";
import { createTestDatabase } from "../../test/support/database";
import { objectsOf, type Fact } from "../outbox/facts";

describe("migrations", () => {
  it("produce exactly the schema the entities describe (no drift)", async () => {
    const ds = createDataSource(await createTestDatabase());
    await ds.initialize();
    try {
      const pending = await ds.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((q) => q.query)).toEqual([]);
    } finally {
      await ds.destroy();
    }
  });

  it("revert cleanly and apply again", async () => {
    const ds = createDataSource(await createTestDatabase());
    await ds.initialize();
    try {
      for (let i = 0; i < ds.migrations.length; i++) await ds.undoLastMigration();
      const tables = await ds.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
      expect(tables).toEqual([]);
      await ds.runMigrations();
      const after = await ds.query(`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'migrations'`);
      expect(after[0].n).toBe(8);
    } finally {
      await ds.destroy();
    }
  });

  it("give the facts pending before per-object delivery the keys the code gives new ones", async () => {
    const ds = createDataSource(await createTestDatabase());
    await ds.initialize();
    try {
      await ds.undoLastMigration();
      const facts: Fact[] = [
        { kind: "workspace.created", workspaceId: "w", ownerId: "o" },
        { kind: "workspace.role_set", workspaceId: "w", userId: "u", role: "EDITOR" as never },
        { kind: "workspace.role_removed", workspaceId: "w", userId: "u" },
        { kind: "note.created", noteId: "n", ownerId: "o", workspaceId: "w" },
        { kind: "note.created", noteId: "p", ownerId: "o", workspaceId: null },
        { kind: "note.deleted", noteId: "n" },
        { kind: "user.deleted", userId: "u" },
        { kind: "user.email_set", userId: "u", email: "u@example.com" },
      ];
      for (const { kind, ...payload } of facts) await ds.query(`INSERT INTO permit_outbox (kind, payload) VALUES ($1, $2)`, [kind, payload]);
      await ds.query(`INSERT INTO permit_outbox (kind, payload, delivered_at) VALUES ('note.deleted', '{"noteId":"old"}', now())`);
      await ds.runMigrations();
      const rows = (await ds.query(`SELECT object_keys, changed_keys FROM permit_outbox ORDER BY id`)) as { object_keys: string[]; changed_keys: string[] }[];
      expect(rows).toEqual([
        ...facts.map((fact) => {
          const { changes, reliesOn } = objectsOf(fact);
          return { object_keys: [...changes, ...reliesOn], changed_keys: changes };
        }),
        // Delivered: never read again.
        { object_keys: [], changed_keys: [] },
      ]);
      // Without keys, a fact would be ordered with nothing: it is refused.
      await expect(ds.query(`INSERT INTO permit_outbox (kind, payload) VALUES ('note.deleted', '{"noteId":"x"}')`)).rejects.toThrow(/object_keys/);
    } finally {
      await ds.destroy();
    }
  });
});
