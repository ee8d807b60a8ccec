/**
 * `npm run permit:reconcile` at 100,000 notes: the full stack of `npm start` (embedded
 * PostgreSQL, local PDP over HTTP, the real SDK), a database seeded by SQL with 100 users,
 * 200 workspaces (each with an owner and two more members) and 100,000 notes (30 % of them in
 * workspaces), none of it in the PDP yet. Measured: the dry run, the full repair (every fact
 * created), a run with nothing to do, and a repair of 1 % wiped notes.
 *
 *   npm run bench -- reconcile      (about a minute)
 */
import "reflect-metadata";
import { withDeliveryPaused } from "../src/outbox/delivery";
import { createLogger } from "../src/common/logger";
import { createPermitClient } from "../src/permit/client";
import { changeCount, reconcile, summaryLines } from "../src/permit/reconcile";
import { seedNotesAcrossWorkspaces, runBench, seedUsersAndWorkspaces, startFullStack, startPostgres } from "./api-support";

const NOTES = 100_000;
const USERS = 100;
const WORKSPACES = 200;

async function main(): Promise<void> {
  const pg = await startPostgres();
  const stack = await startFullStack(pg.pg, pg.dataDir, "reconcile");
  try {
    const ds = stack.api.dataSource;
    const users = await seedUsersAndWorkspaces(stack, { users: USERS, workspaces: WORKSPACES });
    await seedNotesAcrossWorkspaces(stack, users, 1, NOTES);
    const permit = createPermitClient({ ...stack.api.permit, timeoutMs: 5000 }, createLogger("silent"));
    const concurrency = Number(process.env.RECONCILE_CONCURRENCY ?? 16);
    const progress = (line: string) => process.stderr.write(`  ${line}\n`);
    const timed = async (name: string, dryRun: boolean) => {
      const started = performance.now();
      const report = await withDeliveryPaused(ds, () => reconcile({ permit, ds, tenant: "default", dryRun, concurrency, progress }));
      const s = (performance.now() - started) / 1000;
      console.warn(`\n${name}: ${s.toFixed(1)} s, ${changeCount(report.diff)} changes (read ${(report.ms.read / 1000).toFixed(1)} s, write ${(report.ms.write / 1000).toFixed(1)} s)`);
      for (const line of summaryLines(report)) console.warn(`  ${line}`);
      return s;
    };
    const dry = await timed("dry run, empty PDP", true);
    const full = await timed("full repair (every fact created)", false);
    const noop = await timed("nothing to do", false);
    const wiped = (await ds.query(`SELECT id FROM notes ORDER BY id LIMIT $1`, [NOTES / 100])) as { id: string }[];
    for (let i = 0; i < wiped.length; i += 50) {
      await Promise.all(wiped.slice(i, i + 50).map((n) => permit.api.resourceInstances.delete(`notes:${n.id}`)));
    }
    const partial = await timed("1 % of the notes wiped", false);
    const after = await reconcile({ permit, ds, tenant: "default", dryRun: true });
    if (changeCount(after.diff) !== 0) throw new Error(`still ${changeCount(after.diff)} differences after the repair`);
    console.warn(`\nreconcile at ${NOTES} notes: dry run ${dry.toFixed(1)} s · full ${full.toFixed(1)} s · no-op ${noop.toFixed(1)} s · 1 % wiped ${partial.toFixed(1)} s`);
  } finally {
    await stack.api.stop();
    await pg.stop();
  }
}

runBench(main, 600_000);
