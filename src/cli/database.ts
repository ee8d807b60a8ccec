/**
 * The database of a command-line tool: DATABASE_URL, else the embedded database of a running
 * `npm start` with the same DATA_DIR (as the migration scripts find it).
 */
import type { DataSource } from "typeorm";
import type { Config } from "../config";
import { createDataSource } from "../db/data-source";
import { runningEmbeddedDatabaseUrl } from "../db/embedded-postgres";
import { CommandError } from "./run";

/** `why`: what the command needs the database for, told before the advice when there is none. */
export async function openCliDatabase(config: Config, why?: string): Promise<DataSource> {
  const url = config.databaseUrl ?? (await runningEmbeddedDatabaseUrl(config.dataDir));
  if (!url) throw new CommandError(`${why ? `${why}: set` : "Set"} DATABASE_URL, or start the API on its embedded database (npm start) first.`);
  const ds = createDataSource(url, { poolSize: 2 });
  await ds.initialize();
  return ds;
}
