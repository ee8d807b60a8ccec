import "reflect-metadata";
import { DataSource } from "typeorm";
import { migrations } from "../../migrations";
import { User } from "../users/user.entity";
import { Workspace } from "../workspaces/workspace.entity";
import { WorkspaceMember } from "../workspaces/workspace-member.entity";
import { Note } from "../notes/note.entity";
import { OutboxFact } from "../outbox/outbox.entity";
import { PolicyChange } from "../permit/policy-change.entity";
import { pgTypes } from "./timestamps";

export const entities = [User, Workspace, WorkspaceMember, Note, OutboxFact, PolicyChange];

/** The one DataSource factory: the server, the tests and the TypeORM CLI (ormconfig.ts) use it. */
export interface DataSourceOptions {
  poolSize?: number;
  /** How long to wait for a connection (pool or new); pg waits forever by default. */
  connectTimeoutMs?: number;
  /** Client-side bound on every query: a connection that stops answering fails instead of hanging. */
  queryTimeoutMs?: number;
}

export function createDataSource(url: string, options: DataSourceOptions = {}): DataSource {
  return new DataSource({
    type: "postgres",
    url,
    entities,
    migrations,
    uuidExtension: "pgcrypto",
    // The schema only ever changes through reviewed migrations.
    synchronize: false,
    migrationsRun: false,
    logging: false,
    extra: {
      max: options.poolSize ?? 10,
      types: pgTypes,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      ...(options.queryTimeoutMs ? { query_timeout: options.queryTimeoutMs } : {}),
    },
  });
}
