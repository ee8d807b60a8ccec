import { randomBytes } from "node:crypto";
import { Client } from "pg";

/** A fresh database for one test file, cloned from the migrated template (fast: no migrations). */
export async function createTestDatabase(): Promise<string> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (!adminUrl || !template) throw new Error("test/global-setup.ts did not run: no TEST_PG_ADMIN_URL");
  const name = `test_${randomBytes(6).toString("hex")}`;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Waits until every change logged so far is readable from the change feed: the feed's horizon
 * is the oldest transaction in flight anywhere in the cluster (docs/decisions.md), and other
 * test files' databases share the cluster, so a change committed a moment ago may be held back
 * behind one of theirs. Bounded: a horizon stuck for 20 s is a failure of its own.
 */
export async function untilChangesReadable(db: { query(sql: string): Promise<{ readable: boolean }[]> }): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [row] = await db.query(`SELECT coalesce((SELECT max(tx) FROM note_changes) < pg_snapshot_xmin(pg_current_snapshot()), true) AS readable`);
    if (row?.readable) return;
    if (Date.now() > deadline) throw new Error("the change feed's horizon did not pass the last logged change within 20 s");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
