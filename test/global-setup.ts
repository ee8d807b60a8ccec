/**
 * One real PostgreSQL cluster per test run, with a migrated template database; each test file
 * clones the template into a database of its own (test/support/database.ts).
 */
import "reflect-metadata";
import { mkdtemp } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEmbeddedPostgres, type EmbeddedPostgres } from "../src/db/embedded-postgres";
import { createDataSource } from "../src/db/data-source";

export const TEMPLATE_DATABASE = "notes_template";

declare global {
  var __EMBEDDED_PG__: EmbeddedPostgres | undefined;
}

export default async function globalSetup(): Promise<void> {
  // Both API projects (jest.config.js) share one cluster: the first to set up starts it.
  if (globalThis.__EMBEDDED_PG__) return;
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-api-test-"));
  const logs: string[] = [];
  let pg: EmbeddedPostgres;
  try {
    pg = await startEmbeddedPostgres({ dataDir, onLog: (m) => logs.push(m) });
  } catch (error) {
    process.stderr.write(logs.join(""));
    throw error;
  }
  globalThis.__EMBEDDED_PG__ = pg;
  await pg.createDatabase(TEMPLATE_DATABASE);
  const dataSource = createDataSource(pg.urlFor(TEMPLATE_DATABASE));
  await dataSource.initialize();
  await dataSource.runMigrations();
  await dataSource.destroy();
  // Workers are forked after this point and inherit the environment.
  process.env.TEST_PG_ADMIN_URL = pg.adminUrl;
  process.env.TEST_PG_TEMPLATE = TEMPLATE_DATABASE;
}
