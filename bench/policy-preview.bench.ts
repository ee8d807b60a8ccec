/**
 * `npm run permit:apply -- --preview` at 10,000 notes and 100 users: the full stack of
 * `npm start` (embedded PostgreSQL, local PDP over HTTP, the real SDK), a database seeded by SQL
 * with 100 users (every one with the role user in Permit, 10 premium, 2 admins), 40 workspaces
 * (owner, an editor and a viewer each) and 10,000 notes (30 % in workspaces). The target holds
 * the policy with one change — note editors may also delete — so the code's policy is
 * "editors may no longer delete". Measured: the whole preview (reading Permit and the database,
 * loading both engines, every decision) at 10,000 notes, against the same at 1,000 notes as the
 * baseline (the ratio shows how it grows), then the default sample's time, and the report itself.
 *
 *   npm run bench -- policy-preview      (about a minute)
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
    await applyPolicy(permit, editorsMayDelete, { tenant: "default", prune: true });

    const measure = async (sampleLimit: number) => {
      const times: number[] = [];
      let last;
      for (let round = 0; round < ROUNDS; round++) {
        const started = performance.now();
        last = await previewPolicyImpact(permit, ds, "default", policy, { sampleLimit });
        times.push((performance.now() - started) / 1000);
      }
      return { s: times.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)]!, impact: last! };
    };
    const everything = Number.MAX_SAFE_INTEGER;

    await addNotes(1, BASELINE_NOTES);
    const baseline = await measure(everything);
    await addNotes(BASELINE_NOTES + 1, NOTES);
    const full = await measure(everything);
    const sampled = await measure(DEFAULT_SAMPLE_LIMIT);

    const rate = (r: typeof full) => Math.round(r.impact.coverage.compared / r.s).toLocaleString("en-US");
    console.warn(`\nPolicy impact preview, ${USERS} users, ${WORKSPACES} workspaces; median of ${ROUNDS} runs (reads, both engines, every decision):`);
    console.warn(`  ${BASELINE_NOTES.toLocaleString("en-US")} notes (baseline): ${baseline.s.toFixed(2)} s for ${baseline.impact.coverage.compared.toLocaleString("en-US")} decisions (${rate(baseline)}/s)`);
    console.warn(`  ${NOTES.toLocaleString("en-US")} notes, every decision: ${full.s.toFixed(2)} s for ${full.impact.coverage.compared.toLocaleString("en-US")} decisions (${rate(full)}/s) — ${(full.s / baseline.s).toFixed(2)}× the baseline for ${(full.impact.coverage.compared / baseline.impact.coverage.compared).toFixed(2)}× the decisions`);
    console.warn(`  ${NOTES.toLocaleString("en-US")} notes, default sample (${DEFAULT_SAMPLE_LIMIT.toLocaleString("en-US")}): ${sampled.s.toFixed(2)} s, sampled: ${sampled.impact.coverage.sampled}`);
    console.warn(`\nThe report at ${NOTES.toLocaleString("en-US")} notes ("editors may no longer delete"):\n`);
    for (const line of impactLines(full.impact)) console.warn(line);
    if (full.impact.losses.length === 0) throw new Error("the preview found no loss");
  } finally {
    await stack.api.stop();
    await pg.stop();
  }
}

runBench(main, 600_000);
