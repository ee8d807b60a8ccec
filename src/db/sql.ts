/**
 * Raw SQL with an explicit shape. TypeORM's `query()` returns the rows for a SELECT but
 * `[rows, rowCount]` for an UPDATE or DELETE, so destructuring its result reads the wrong
 * thing (an empty array is truthy). Statements whose effect matters go through `execute`,
 * which always answers `{ rows, rowCount }`.
 */
import type { DataSource, EntityManager } from "typeorm";

export interface SqlResult<T> {
  rows: T[];
  rowCount: number;
}

export async function execute<T = Record<string, unknown>>(
  target: DataSource | EntityManager,
  sql: string,
  parameters: unknown[] = [],
): Promise<SqlResult<T>> {
  const inTransaction = "queryRunner" in target && target.queryRunner !== undefined;
  const runner = inTransaction ? target.queryRunner! : (target as DataSource).createQueryRunner();
  try {
    const result = await runner.query(sql, parameters, true);
    const rows = (result.records ?? []) as T[];
    return { rows, rowCount: result.affected ?? rows.length };
  } finally {
    if (!inTransaction) await runner.release();
  }
}
