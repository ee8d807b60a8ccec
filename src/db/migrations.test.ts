import "reflect-metadata";
import { createDataSource } from "./data-source";
import { createTestDatabase } from "../../test/support/database";

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
});
