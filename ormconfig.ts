/**
 * The DataSource for the TypeORM CLI (`npm run migration:generate|run|revert`).
 * It needs DATABASE_URL; the embedded database's URL is printed by `npm start` at boot.
 */
import { loadConfig } from "./src/config";
import { createDataSource } from "./src/db/data-source";

const config = loadConfig();
if (!config.databaseUrl) {
  throw new Error("Set DATABASE_URL for the TypeORM CLI (npm start prints the embedded database's URL).");
}
export default createDataSource(config.databaseUrl);
