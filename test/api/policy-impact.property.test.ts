/**
 * The impact preview agrees with the PDP over random small policies and data (fast-check):
 * with the target holding policy A, `previewPolicyImpact` of policy B is computed; then B is
 * applied (`--prune`) to the real local PDP and every decision — each user on each workspace
 * and note for each action, and the type-level checks the API makes — is asked over the real
 * SDK before and after. Every flip the preview reports is a real flip, with the same counts per
 * user; every real flip is reported; so a preview of "no change" changes no decision.
 *
 * Half of the generated B are A with a few parts replaced (and some are A itself), so small
 * edits and no-ops are exercised as often as wholesale changes.
 */
import "reflect-metadata";
import fc from "fast-check";
import type { Permit } from "permitio";
import type { DataSource } from "typeorm";
import { startLocalPdp } from "@notes/local-pdp";
import type { Policy } from "../../src/authz/policy";
import { createLogger } from "../../src/common/logger";
import { createDataSource } from "../../src/db/data-source";
import { createPermitClient } from "../../src/permit/client";
import { previewPolicyImpact, type PolicyImpact } from "../../src/permit/policy-impact";
import { applyPolicy } from "../../src/permit/policy-sync";
import { createTestDatabase } from "../support/database";
import { NOTE_ROLES, randomWorldParts, seedWorld, WS_ROLES, worldKeys, type RandomWorld } from "../support/random-world";

jest.setTimeout(120_000);

const logger = createLogger("silent");
const TENANT = "default";
const API_KEY = "impact-property-key";
let ds: DataSource;

beforeAll(async () => {
  ds = createDataSource(await createTestDatabase());
  await ds.initialize();
});
afterAll(() => ds.destroy());

// ─── random policies ───────────────────────────────────────────────────────────────────

const NOTE_ACTIONS = ["get", "post", "put", "delete"];
const WS_ACTIONS = ["get", "post", "put", "delete", "share", "add_note"];
const ALL_PERMISSIONS = [...NOTE_ACTIONS.map((a) => `notes:${a}`), ...WS_ACTIONS.map((a) => `workspaces:${a}`)];

interface Genes {
  userPerms: string[];
  adminPerms: string[];
  wsRoles: string[][];
  /** The note roles' permissions and, separately, which workspace role each derives from: either may change alone. */
  noteRolePerms: string[][];
  noteRoleDerivations: (number | null)[];
  ownNotes: { userSet: "__autogen_user" | "premium"; perms: string[] } | null;
  premiumWorkspaces: string[];
  /** The condition sets' conditions may change while the rules naming them stay. */
  ownNotesCondition: "owner" | "not-owner";
  premiumPlan: "premium" | "free";
}
const GENE_NAMES = [
  "userPerms",
  "adminPerms",
  "wsRoles",
  "noteRolePerms",
  "noteRoleDerivations",
  "ownNotes",
  "premiumWorkspaces",
  "ownNotesCondition",
  "premiumPlan",
] as const;

const genes: fc.Arbitrary<Genes> = fc.record({
  userPerms: fc.subarray(["notes:get", "notes:post", "notes:put", "workspaces:post"]),
  adminPerms: fc.subarray(ALL_PERMISSIONS, { maxLength: 5 }),
  wsRoles: fc.array(fc.subarray(WS_ACTIONS, { maxLength: 3 }), { minLength: 3, maxLength: 3 }),
  noteRolePerms: fc.array(fc.subarray(["get", "put", "delete"]), { minLength: 3, maxLength: 3 }),
  noteRoleDerivations: fc.array(fc.option(fc.nat(2), { freq: 4 }), { minLength: 3, maxLength: 3 }),
  ownNotes: fc.option(
    fc.record({ userSet: fc.constantFrom("__autogen_user" as const, "premium" as const), perms: fc.subarray(["notes:get", "notes:put", "notes:delete"], { minLength: 1 }) }),
  ),
  premiumWorkspaces: fc.subarray(["workspaces:post", "workspaces:get"]),
  ownNotesCondition: fc.constantFrom("owner" as const, "not-owner" as const),
  premiumPlan: fc.constantFrom("premium" as const, "free" as const),
});

function policyOf(g: Genes): Policy {
  return {
    resources: [
      {
        key: "workspaces",
        name: "Workspace",
        actions: WS_ACTIONS,
        attributes: { owner: { type: "string" } },
        relations: [],
        roles: WS_ROLES.map((key, i) => ({ key, name: key, permissions: g.wsRoles[i]! })),
      },
      {
        key: "notes",
        name: "Note",
        actions: NOTE_ACTIONS,
        attributes: { owner: { type: "string" }, workspace: { type: "string" } },
        relations: [{ key: "parent", name: "Parent", subject: "workspaces" }],
        roles: NOTE_ROLES.map((key, i) => {
          const derivedFrom = g.noteRoleDerivations[i]!;
          return {
            key,
            name: key,
            permissions: g.noteRolePerms[i]!,
            grantedTo: derivedFrom === null ? [] : [{ role: WS_ROLES[derivedFrom]!, onResource: "workspaces" as const, linkedByRelation: "parent" as const }],
          };
        }),
      },
    ],
    roles: [
      { key: "admin", name: "Admin", permissions: g.adminPerms },
      { key: "user", name: "User", permissions: g.userPerms },
    ],
    conditionSets: [
      {
        key: "own_notes",
        name: "Own notes",
        type: "resourceset",
        resource: "notes",
        conditions: { allOf: [{ "resource.owner": { [g.ownNotesCondition === "owner" ? "equals" : "not-equals"]: { ref: "user.key" } } }] },
      },
      { key: "premium", name: "Premium", type: "userset", conditions: { allOf: [{ "user.plan": { equals: g.premiumPlan } }] } },
    ],
    setRules: [
      ...(g.ownNotes ? [{ userSet: g.ownNotes.userSet, resourceSet: "own_notes", permissions: g.ownNotes.perms }] : []),
      ...(g.premiumWorkspaces.length ? [{ userSet: "premium", resourceSet: "__autogen_workspaces", permissions: g.premiumWorkspaces }] : []),
    ],
  };
}

// ─── random data ───────────────────────────────────────────────────────────────────────

interface World extends RandomWorld {
  before: Genes;
  after: Genes;
}

const world: fc.Arbitrary<World> = fc
  .record({
    before: genes,
    other: genes,
    // Which parts of B come from the other policy: none (B = A), some, or all.
    replaced: fc.oneof(fc.constant(GENE_NAMES.map(() => false)), fc.array(fc.boolean(), { minLength: GENE_NAMES.length, maxLength: GENE_NAMES.length })),
    ...randomWorldParts({ users: { min: 1, max: 3 }, workspaces: 2, members: 2, notes: { min: 0, max: 6 } }),
  })
  .map(({ before, other, replaced, ...data }) => {
    const after = { ...before } as Record<string, unknown>;
    GENE_NAMES.forEach((name, i) => {
      if (replaced[i]) after[name] = other[name];
    });
    return { before, after: after as unknown as Genes, ...data };
  });

interface Check {
  user: string;
  object: string;
  action: string;
  resource: { type: string; key?: string; tenant: string; attributes?: Record<string, unknown> };
}

async function build(w: World, permit: Permit): Promise<Check[]> {
  await ds.query(`TRUNCATE notes, workspace_members, workspaces, users, policy_changes, permit_outbox CASCADE`);
  await applyPolicy(permit, policyOf(w.before), { tenant: TENANT, prune: true });
  const keys = worldKeys(w);
  const notes = await seedWorld(ds, permit, w, keys, { tenant: TENANT });
  const { userIds, workspaceIds } = keys;
  const checks: Check[] = [];
  for (const [i, ws] of w.workspaces.entries()) {
    const attributes = { owner: keys.user(ws.owner) };
    for (const u of userIds) {
      for (const action of WS_ACTIONS) {
        checks.push({ user: u, object: `workspaces:${workspaceIds[i]}`, action, resource: { type: "workspaces", key: workspaceIds[i]!, tenant: TENANT, attributes } });
      }
    }
  }
  for (const n of notes) {
    const attributes = { owner: n.ownerId, ...(n.workspaceId ? { workspace: n.workspaceId } : {}) };
    for (const u of userIds) {
      for (const action of NOTE_ACTIONS) checks.push({ user: u, object: `notes:${n.id}`, action, resource: { type: "notes", key: n.id, tenant: TENANT, attributes } });
    }
  }
  // The type-level checks the API makes (authz/resources.ts).
  for (const u of userIds) {
    checks.push({ user: u, object: "notes", action: "post", resource: { type: "notes", tenant: TENANT, attributes: { owner: u } } });
    checks.push({ user: u, object: "workspaces", action: "post", resource: { type: "workspaces", tenant: TENANT } });
  }
  return checks;
}

const decide = async (permit: Permit, checks: Check[]) =>
  checks.length === 0 ? [] : permit.bulkCheck(checks.map((c) => ({ user: c.user, action: c.action, resource: c.resource })));

/** flip → objects: `loses notes delete <user>` → {notes:…}. */
function reportedFlips(impact: PolicyImpact): Map<string, number> {
  const counts = new Map<string, number>();
  for (const g of [...impact.losses, ...impact.gains]) {
    expect(g.examples.length).toBe(g.users); // at most 3 users: every one is named
    expect(g.examples.reduce((n, e) => n + e.objects, 0)).toBe(g.decisions);
    if (g.change === "loses") expect(g.grants.length).toBeGreaterThan(0); // what allowed it before is named
    for (const e of g.examples) {
      const key = `${g.change} ${g.resource} ${g.action} ${e.user}`;
      counts.set(key, (counts.get(key) ?? 0) + e.objects);
    }
  }
  return counts;
}

it("every flip the preview reports happens when the policy is applied, and nothing else flips", async () => {
  let changedRuns = 0;
  let unchangedRuns = 0;
  await fc.assert(
    fc.asyncProperty(world, async (w) => {
      const pdp = await startLocalPdp({ apiKey: API_KEY, port: 0 });
      const permit = createPermitClient({ apiKey: API_KEY, pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 5000 }, logger);
      try {
        const checks = await build(w, permit);
        const impact = await previewPolicyImpact(permit, ds, TENANT, policyOf(w.after));
        expect(impact.coverage.sampled).toBe(false);
        expect(impact.coverage.population).toBe(checks.length);

        const before = await decide(permit, checks);
        await applyPolicy(permit, policyOf(w.after), { tenant: TENANT, prune: true });
        const after = await decide(permit, checks);

        const real = new Map<string, Set<string>>();
        checks.forEach((c, i) => {
          if (before[i] === after[i]) return;
          const key = `${before[i] ? "loses" : "gains"} ${c.resource.type} ${c.action} ${c.user}`;
          real.set(key, (real.get(key) ?? new Set()).add(c.object));
        });
        const reported = reportedFlips(impact);
        expect(Object.fromEntries(reported)).toEqual(Object.fromEntries([...real].map(([k, objects]) => [k, objects.size])));
        for (const g of [...impact.losses, ...impact.gains]) {
          for (const e of g.examples) for (const o of e.sample) expect(real.get(`${g.change} ${g.resource} ${g.action} ${e.user}`)).toContain(o);
        }
        expect(impact.changed).toBe(real.size > 0);
        if (impact.changed) changedRuns++;
        else unchangedRuns++;
      } finally {
        await pdp.close();
      }
    }),
    { numRuns: 100, seed: Number(process.env.FC_SEED ?? 20261129), endOnFailure: true },
  );
  // Both outcomes were exercised.
  expect(changedRuns).toBeGreaterThan(0);
  expect(unchangedRuns).toBeGreaterThan(0);
});
