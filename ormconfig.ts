/**
 * The DataSource for the TypeORM CLI (`npm run migration:generate|run|revert`): DATABASE_URL,
 * or else the embedded database of a running `npm start` (same DATA_DIR).
 */
import { loadConfig } from "./src/config";
import { createDataSource } from "./src/db/data-source";
import { runningEmbeddedDatabaseUrl } from "./src/db/embedded-postgres";

async function dataSource() {
  const config = loadConfig();
  const url = config.databaseUrl ?? (await runningEmbeddedDatabaseUrl(config.dataDir));
  if (!url) throw new Error("Set DATABASE_URL, or start the server on the embedded database (npm start) first.");
  return createDataSource(url);
}

export default dataSource();
