/**
 * `npm run permit:apply -- --preview` and the policy history, against the running API's local
 * PDP over the real SDK. The target's policy is set by hand (applyPolicy with a variant, as if
 * someone had applied an older policy.ts), and the code's policy is the change previewed:
 * "editors may no longer delete" is a target whose note editors may delete.
 */
import type { Permit } from "permitio";
import { EXIT_ACCESS_LOST, main as applyCli } from "../../src/cli/permit-apply";
import { main as permitCli } from "../../src/cli/permit";
import { createLogger } from "../../src/common/logger";
import { policy, type Policy } from "../../src/authz/policy";
import { createPermitClient } from "../../src/permit/client";
import { applyPolicy } from "../../src/permit/policy-sync";
import type { PolicyImpact } from "../../src/permit/policy-impact";
import { CreateNoteDocument, CreateWorkspaceDocument, MeDocument, ShareWorkspaceDocument } from "../generated/graphql";
import { dataOf, startTestApi, type TestApi } from "../support/api";
import { pointCommandLineAt, runCli } from "../support/cli";

jest.setTimeout(60_000);

let api: TestApi;
let permit: Permit;
let restoreEnv = () => {};
let ids: { alice: string; bob: string; carol: string; w: string; notesInW: string[]; alicePersonal: string };

/** The code's policy with the note role `role` granting `permissions` instead. */
function withNoteRole(role: string, permissions: string[]): Policy {
  return {
    ...policy,
    resources: policy.resources.map((r) =>
      r.key !== "notes" ? r : { ...r, roles: r.roles.map((x) => (x.key === role ? { ...x, permissions } : x)) },
    ),
  };
}
const setTarget = (p: Policy) => applyPolicy(permit, p, { tenant: "default", prune: true });

const preview = (...argv: string[]) => runCli(applyCli, "--preview", ...argv);
const historyRows = async () => ((await api.dataSource.query(`SELECT count(*)::int AS n FROM policy_changes`)) as { n: number }[])[0]!.n;

beforeAll(async () => {
  api = await startTestApi();
  permit = createPermitClient({ ...api.permit, timeoutMs: 2000 }, createLogger("silent"));
  restoreEnv = pointCommandLineAt(api);
  const [alice, bob, carol] = await Promise.all(["alice.pv@example.com", "bob.pv@example.com", "carol.pv@example.com"].map((e) => api.token(e)));
  const me = async (t: string) => dataOf(await api.gql(MeDocument, {}, t)).me.id;
  const [aliceId, bobId, carolId] = [await me(alice!), await me(bob!), await me(carol!)];
  await permit.api.users.update(bobId, { attributes: { plan: "premium" } });
  const w = dataOf(await api.gql(CreateWorkspaceDocument, { input: { name: "Launch" } }, bob!)).createWorkspace.id;
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId: w, email: "alice.pv@example.com", role: "EDITOR" }, bob!));
  dataOf(await api.gql(ShareWorkspaceDocument, { workspaceId: w, email: "carol.pv@example.com", role: "VIEWER" }, bob!));
  const note = async (title: string, token: string, workspaceId?: string) => dataOf(await api.gql(CreateNoteDocument, { input: { title, workspaceId } }, token)).createNote.id;
  const notesInW = [];
  for (const t of ["a", "b", "c"]) notesInW.push(await note(t, bob!, w));
  const alicePersonal = await note("mine", alice!);
  ids = { alice: aliceId, bob: bobId, carol: carolId, w, notesInW, alicePersonal };
});
afterAll(async () => {
  restoreEnv();
  await api?.stop();
});
afterEach(() => setTarget(policy));

it("prints exactly `No change in access` when the target has the code's policy, and exits 0 with --fail-on-loss", async () => {
  const r = await preview("--fail-on-loss");
  expect(r.code).toBe(0);
  expect(r.out).toEqual(["No change in access"]);
});

it("editors may no longer delete: names who loses delete on which notes and why, and --fail-on-loss exits 3", async () => {
  await setTarget(withNoteRole("editor", ["get", "put", "delete"]));
  for (const n of ids.notesInW) await expect(permit.check(ids.alice, "delete", { type: "notes", key: n, tenant: "default" })).resolves.toBe(true);

  const r = await preview();
  expect(r.code).toBe(0);
  expect(r.text).toContain("Losses:");
  expect(r.text).toContain("- delete on notes (notes#editor no longer grants delete): 1 users, 3 objects");
  expect(r.text).toContain("alice.pv@example.com loses delete on 3 notes (notes#editor no longer grants delete)");
  expect(r.text).not.toContain("Gains:");
  // bob (manager) and carol (viewer) keep what they had: they are named nowhere.
  expect(r.text).not.toMatch(/bob\.pv|carol\.pv/);

  const failing = await preview("--fail-on-loss");
  expect(failing.code).toBe(EXIT_ACCESS_LOST);
  expect(EXIT_ACCESS_LOST).toBe(3);

  // The preview wrote nothing: the target still lets alice delete.
  await expect(permit.check(ids.alice, "delete", { type: "notes", key: ids.notesInW[0]!, tenant: "default" })).resolves.toBe(true);
});

it("--json prints the same report as JSON", async () => {
  await setTarget(withNoteRole("editor", ["get", "put", "delete"]));
  const r = await preview("--json");
  expect(r.code).toBe(0);
  const impact = JSON.parse(r.text) as PolicyImpact & { target: string; tenant: string };
  expect(impact).toMatchObject({ changed: true, tenant: "default", gains: [], coverage: { users: 3, sampled: false } });
  expect(impact.coverage.objects).toBe(1 + 4 + 2); // the workspace, four notes, two type-level checks
  expect(impact.losses).toEqual([
    {
      change: "loses",
      resource: "notes",
      action: "delete",
      grants: [{ model: "rebac", key: "notes#editor", label: "notes#editor" }],
      users: 1,
      objects: 3,
      decisions: 3,
      examples: [
        {
          user: ids.alice,
          email: "alice.pv@example.com",
          objects: 3,
          sample: ids.notesInW.map((n) => `notes:${n}`).sort(),
          text: "alice.pv@example.com loses delete on 3 notes (notes#editor no longer grants delete)",
        },
      ],
    },
  ]);
});

it("gains only: exit 0 with --fail-on-loss, and the gain is named", async () => {
  await setTarget(withNoteRole("editor", ["get"]));
  const r = await preview("--fail-on-loss");
  expect(r.code).toBe(0);
  expect(r.text).toContain("alice.pv@example.com gains put on 3 notes (notes#editor now grants put)");
  expect(r.text).not.toContain("Losses:");
});

it("samples above --sample, with the seed stated; the same seed gives the same sample", async () => {
  await setTarget(withNoteRole("editor", ["get", "put", "delete"]));
  // Only `delete` on notes differs: 3 users × 4 notes are touched, and 5 of them are sampled.
  const a = await preview("--json", "--sample", "5", "--seed", "7");
  const b = await preview("--json", "--sample", "5", "--seed", "7");
  const impact = JSON.parse(a.text) as PolicyImpact;
  expect(impact.coverage).toMatchObject({ sampled: true, compared: 5, seed: 7 });
  expect(impact.coverage.population - impact.coverage.unaffected).toBe(3 * 4);
  expect(JSON.parse(b.text).losses).toEqual(impact.losses);
  const text = await preview("--sample", "5");
  expect(text.text).toMatch(/sampled 5 of the 12 decisions the change touches \(seed 1/);
});

it("rejects preview options without --preview (exit 2)", async () => {
  const r = await runCli(applyCli, "--fail-on-loss");
  expect(r.code).toBe(2);
  expect(r.err.join("\n")).toMatch(/go with --preview/);
  expect((await runCli(applyCli, "--preview", "--sample", "0")).code).toBe(2);
});

it("records an apply that changed something in policy_changes (not a preview, a dry run or an apply with nothing to do); permit history lists it", async () => {
  await setTarget(withNoteRole("editor", ["get", "put", "delete"]));
  const before = await historyRows();
  await preview();
  const dry = await runCli(applyCli, "--dry-run");
  expect(dry.code).toBe(0);
  expect(dry.text).toContain("would update resource_role:notes#editor (permissions)");
  expect(dry.text).toMatch(/Dry run: 0 to create, 1 to update, 0 to remove/);
  await expect(permit.check(ids.alice, "delete", { type: "notes", key: ids.notesInW[0]!, tenant: "default" })).resolves.toBe(true);
  expect(await historyRows()).toBe(before);

  const applied = await runCli(applyCli, "--actor", "release-bot");
  expect(applied.code).toBe(0);
  expect(applied.text).toMatch(/Recorded as policy change #\d+ by release-bot/);
  await expect(permit.check(ids.alice, "delete", { type: "notes", key: ids.notesInW[0]!, tenant: "default" })).resolves.toBe(false);
  expect(await historyRows()).toBe(before + 1);
  const again = await runCli(applyCli);
  expect(again.text).toMatch(/Nothing changed/);
  expect(await historyRows()).toBe(before + 1);

  const listed = await runCli(permitCli, "history");
  expect(listed.code).toBe(0);
  expect(listed.out[0]).toMatch(/^#\d+ \S+ by release-bot to .* \(tenant "default"\): 0 created, 1 updated, 0 removed \(policy [0-9a-f]{12}\)$/);
  expect(listed.out[1]).toBe("  ~ resource_role:notes#editor");
  const json = await runCli(permitCli, "history", "--json");
  const rows = JSON.parse(json.text) as { id: string; actor: string; appliedAt: string; summary: { updated: string[]; prune: boolean } }[];
  expect(rows[0]).toMatchObject({ actor: "release-bot", summary: { updated: ["resource_role:notes#editor"], prune: false } });
  expect(rows.map((r) => Number(r.id))).toEqual([...rows.map((r) => Number(r.id))].sort((a, b) => b - a));
  expect((await runCli(permitCli, "history", "--all")).code).toBe(2);
});
