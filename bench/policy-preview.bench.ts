/**
 * `npm run permit:apply -- --preview` at 10,000 notes and 100 users: the full stack of
 * `npm start` (embedded PostgreSQL, local PDP over HTTP, the real SDK), a database seeded by SQL
 * with 100 users (every one with the role user in Permit, 10 premium, 2 admins), 40 workspaces
 * (owner, an editor and a viewer each) and 10,000 notes (30 % in workspaces).
 *
 * Two changes, each previewed whole (reading Permit and the database, loading both engines,
 * deciding every decision the change can touch):
 * - "editors may no longer delete": the target lets note editors delete, the code does not. It
 *   touches `delete` on notes only, so the other decisions are skipped as unaffected;
 * - the worst case, a change every decision depends on: the target also has a tenant role the
 *   code no longer defines, so every (user, object, action) is decided.
 * Each is measured at 10,000 notes and at 1,000 notes (the baseline; the ratio shows how it
 * grows), and the report of the first is printed.
 *
 *   npm run bench -- policy-preview      (about three minutes)
 */
import "reflect-metadata";
import { policy, type Policy } from "../src/authz/policy";
import { createLogger } from "../src/common/logger";
import { createPermitClient } from "../src/permit/client";
import { DEFAULT_SAMPLE_LIMIT, impactLines, previewPolicyImpact } from "../src/permit/policy-impact";
import { applyPolicy } from "../src/permit/policy-sync";
import { seedNotesAcrossWorkspaces, runBench, seedUsersAndWorkspaces, startFullStack, startPostgres } from "./api-support";

const USERS = 100;
const WORKSPACES = 40;
const NOTES = 10_000;
const BASELINE_NOTES = 1_000;
const ROUNDS = 3;

/** The code's policy, but note editors may also delete. */
const editorsMayDelete: Policy = {
  ...policy,
  resources: policy.resources.map((r) =>
    r.key !== "notes" ? r : { ...r, roles: r.roles.map((x) => (x.key === "editor" ? { ...x, permissions: [...x.permissions, "delete"] } : x)) },
  ),
};

/** The same, plus a tenant role the code does not define: removing it touches every decision. */
const retired = { key: "retired", name: "Retired", permissions: ["notes:get"] } as unknown as Policy["roles"][number]; // a key the code's type does not know, by design
const withRetiredRole: Policy = { ...editorsMayDelete, roles: [...editorsMayDelete.roles, retired] };

async function main(): Promise<void> {
  const pg = await startPostgres();
  const stack = await startFullStack(pg.pg, pg.dataDir, "preview");
  try {
    const ds = stack.api.dataSource;
    const permit = createPermitClient({ ...stack.api.permit, timeoutMs: 10_000 }, createLogger("silent"));
    const users = await seedUsersAndWorkspaces(stack, { users: USERS, workspaces: WORKSPACES });
    for (const [i, u] of users.entries()) {
      await permit.api.users.create({ key: u.id, email: u.email, attributes: i % 10 === 0 ? { plan: "premium" } : {} });
    }
    await permit.api.roleAssignments.bulkAssign([
      ...users.map((u) => ({ user: u.id, role: "user", tenant: "default" })),
      ...users.slice(0, 2).map((u) => ({ user: u.id, role: "admin", tenant: "default" })),
    ]);
    const addNotes = (from: number, to: number) => seedNotesAcrossWorkspaces(stack, users, from, to);

    const measure = async (target: Policy, rounds: number) => {
      await applyPolicy(permit, target, { tenant: "default", prune: true });
      const times: number[] = [];
      let last;
      for (let round = 0; round < rounds; round++) {
        const started = performance.now();
        last = await previewPolicyImpact(permit, ds, "default", policy, { sampleLimit: Number.MAX_SAFE_INTEGER });
        times.push((performance.now() - started) / 1000);
      }
      return { s: times.sort((a, b) => a - b)[Math.floor(rounds / 2)]!, impact: last! };
    };

    await addNotes(1, BASELINE_NOTES);
    const baseline = { narrow: await measure(editorsMayDelete, ROUNDS), worst: await measure(withRetiredRole, 1) };
    await addNotes(BASELINE_NOTES + 1, NOTES);
    const full = { narrow: await measure(editorsMayDelete, ROUNDS), worst: await measure(withRetiredRole, 1) };

    const n = (x: number) => x.toLocaleString("en-US");
    const row = (label: string, r: typeof full.narrow, base: typeof full.narrow) => {
      const c = r.impact.coverage;
      const rate = Math.round(c.compared / r.s);
      return `  ${label.padEnd(44)} ${r.s.toFixed(2).padStart(7)} s  decided ${n(c.compared).padStart(9)} of ${n(c.population).padStart(9)} (${n(rate)}/s)  ${(r.s / base.s).toFixed(2)}× the 1,000-note time`;
    };
    console.warn(`\nPolicy impact preview, ${USERS} users, ${WORKSPACES} workspaces, ${n(NOTES)} notes (median of ${ROUNDS} runs; the worst case once):`);
    console.warn(row('"editors may no longer delete"', full.narrow, baseline.narrow));
    console.warn(row("worst case: a change every decision depends on", full.worst, baseline.worst));
    console.warn(`  (at 1,000 notes: ${baseline.narrow.s.toFixed(2)} s and ${baseline.worst.s.toFixed(2)} s; default sample limit ${n(DEFAULT_SAMPLE_LIMIT)} decisions, not applied here)`);
    console.warn(`\nThe report at ${n(NOTES)} notes ("editors may no longer delete"):\n`);
    for (const line of impactLines(full.narrow.impact)) console.warn(line);
    if (full.narrow.impact.losses.length === 0) throw new Error("the preview found no loss");
  } finally {
    await stack.api.stop();
    await pg.stop();
  }
}

runBench(main, 600_000);
