/**
 * List plans conform to the PDP over random policies and data (fast-check): for every user,
 * the rows a plan selects are a superset of the notes the PDP lets them read, and paging
 * through `notes` yields exactly that readable set, newest first, with no skip or duplicate.
 * A deliberately narrowing planner is shown to be caught by the same property.
 *
 * Each run: a fresh in-memory local PDP with a random policy (tenant roles, workspace and note
 * roles with random derivations, condition sets on owner and workspace, set rules for role and
 * attribute user sets), random users, memberships, notes, hand-made role assignments in Permit,
 * and the facts the API would have written. Everything goes through the real SDK over HTTP.
 */
import "reflect-metadata";
import { randomUUID } from "node:crypto";
import DataLoader from "dataloader";
import fc from "fast-check";
import type { GraphQLResolveInfo } from "graphql";
import type { Permit } from "permitio";
import type { DataSource } from "typeorm";
import { startLocalPdp, type PlanCondition } from "@notes/local-pdp";
import { Authorizer } from "../../src/authz/authorizer";
import type { AuthzContext } from "../../src/authz/context";
import { ListPlanner } from "../../src/authz/list-plan";
import { notesAccess } from "../../src/authz/notes";
import type { Policy } from "../../src/authz/policy";
import { noteResource } from "../../src/authz/resources";
import { CursorCodec } from "../../src/common/cursor";
import { createLogger } from "../../src/common/logger";
import { createDataSource } from "../../src/db/data-source";
import type { Note } from "../../src/notes/note.entity";
import { NoteRepository, type NoteCandidates } from "../../src/notes/note.repository";
import { NoteService } from "../../src/notes/note.service";
import type { FactDelivery } from "../../src/outbox/delivery";
import { createPermitClient } from "../../src/permit/client";
import { applyPolicy } from "../../src/permit/policy-sync";
import { createTestDatabase } from "../support/database";
import { NOTE_ROLES, randomWorldParts, seedWorld, WS_ROLES, worldKeys, type RandomWorld } from "../support/random-world";

jest.setTimeout(240_000);

const logger = createLogger("silent");
const TENANT = "default";
const API_KEY = "plan-property-key";
let ds: DataSource;
let repository: NoteRepository;
let service: NoteService;

beforeAll(async () => {
  ds = createDataSource(await createTestDatabase());
  await ds.initialize();
  repository = new NoteRepository(ds);
  service = new NoteService(ds, repository, {} as FactDelivery, new CursorCodec("plan-property-test-secret-0123456789"), () => Promise.resolve(new Map()));
});
afterAll(() => ds.destroy());

// ─── the random world ──────────────────────────────────────────────────────────────────

interface World extends RandomWorld {
  policy: {
    userGets: boolean;
    adminGets: boolean;
    wsRoleGets: boolean[];
    noteRoles: { gets: boolean; derivedFrom: number | null }[];
    ownNotesRule: null | "__autogen_user" | "__autogen_admin" | "premium";
    wsNotesRule: null | { userSet: "__autogen_user" | "premium"; workspaces: number[] };
    allNotesForPremium: boolean;
  };
  handMade: { user: number; note: number | null; workspace: number | null; role: number }[];
  pageSize: number;
}

const world: fc.Arbitrary<World> = fc.record({
  policy: fc.record({
    userGets: fc.boolean(),
    adminGets: fc.boolean(),
    wsRoleGets: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    noteRoles: fc.array(fc.record({ gets: fc.boolean(), derivedFrom: fc.option(fc.nat(2), { freq: 3 }) }), { minLength: 3, maxLength: 3 }),
    ownNotesRule: fc.constantFrom(null, "__autogen_user", "__autogen_admin", "premium") as fc.Arbitrary<World["policy"]["ownNotesRule"]>,
    wsNotesRule: fc.option(fc.record({ userSet: fc.constantFrom("__autogen_user" as const, "premium" as const), workspaces: fc.uniqueArray(fc.nat(2), { maxLength: 2 }) })),
    allNotesForPremium: fc.boolean(),
  }),
  ...randomWorldParts({ users: { min: 2, max: 4 }, workspaces: 3, members: 3, notes: { min: 1, max: 14 } }),
  handMade: fc.array(fc.record({ user: fc.nat(3), note: fc.option(fc.nat(13)), workspace: fc.option(fc.nat(2)), role: fc.nat(2) }), { maxLength: 2 }),
  pageSize: fc.integer({ min: 1, max: 4 }),
});

function policyOf(w: World, workspaceIds: string[]): Policy {
  const p = w.policy;
  const notesGet = "notes:get";
  const conditionSets: Policy["conditionSets"][number][] = [
    { key: "own_notes", name: "Own notes", type: "resourceset", resource: "notes", conditions: { allOf: [{ "resource.owner": { equals: { ref: "user.key" } } }] } },
    { key: "premium", name: "Premium", type: "userset", conditions: { allOf: [{ "user.plan": { equals: "premium" } }] } },
  ];
  const setRules: Policy["setRules"][number][] = [];
  if (p.ownNotesRule) setRules.push({ userSet: p.ownNotesRule, resourceSet: "own_notes", permissions: [notesGet] });
  if (p.wsNotesRule) {
    const ids = p.wsNotesRule.workspaces.map((i) => workspaceIds[i]).filter((id): id is string => id !== undefined);
    conditionSets.push({ key: "ws_notes", name: "Some workspaces' notes", type: "resourceset", resource: "notes", conditions: { allOf: [{ "resource.workspace": { in: ids } }] } });
    setRules.push({ userSet: p.wsNotesRule.userSet, resourceSet: "ws_notes", permissions: [notesGet] });
  }
  if (p.allNotesForPremium) setRules.push({ userSet: "premium", resourceSet: "__autogen_notes", permissions: [notesGet] });
  return {
    resources: [
      {
        key: "workspaces",
        name: "Workspace",
        actions: ["get", "post", "put", "delete", "share", "add_note"],
        attributes: { owner: { type: "string" } },
        relations: [],
        roles: WS_ROLES.map((key, i) => ({ key, name: key, permissions: p.wsRoleGets[i] ? ["get"] : ["share"] })),
      },
      {
        key: "notes",
        name: "Note",
        actions: ["get", "post", "put", "delete"],
        attributes: { owner: { type: "string" }, workspace: { type: "string" } },
        relations: [{ key: "parent", name: "Parent", subject: "workspaces" }],
        roles: NOTE_ROLES.map((key, i) => {
          const r = p.noteRoles[i]!;
          return {
            key,
            name: key,
            permissions: r.gets ? ["get"] : ["put"],
            grantedTo: r.derivedFrom === null ? [] : [{ role: WS_ROLES[r.derivedFrom]!, onResource: "workspaces" as const, linkedByRelation: "parent" as const }],
          };
        }),
      },
    ],
    roles: [
      { key: "admin", name: "Admin", permissions: p.adminGets ? [notesGet, "notes:post"] : ["notes:post"] },
      { key: "user", name: "User", permissions: p.userGets ? [notesGet, "notes:post"] : ["notes:post"] },
    ],
    conditionSets,
    setRules,
  };
}

interface Built {
  permit: Permit;
  close(): Promise<void>;
  userIds: string[];
  notes: Note[];
}

async function build(w: World): Promise<Built> {
  await ds.query(`TRUNCATE notes, workspace_members, workspaces, users, permit_outbox CASCADE`);
  const pdp = await startLocalPdp({ apiKey: API_KEY, port: 0 });
  const permit = createPermitClient({ apiKey: API_KEY, pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 5000 }, logger);
  try {
    const keys = worldKeys(w);
    const { userIds, workspaceIds, user } = keys;
    await applyPolicy(permit, policyOf(w, workspaceIds), { tenant: TENANT });
    const base = Date.UTC(2026, 0, 1);
    // Pairs of notes share a timestamp: the id breaks the tie.
    const notes = (await seedWorld(ds, permit, w, keys, { tenant: TENANT, noteCreatedAt: (i) => new Date(base + Math.floor(i / 2) * 1000) })) as Note[];
    // Roles given by hand in Permit, with no row in the database.
    for (const h of w.handMade) {
      if (h.note !== null && notes[h.note]) {
        await permit.api.roleAssignments.assign({ user: user(h.user), role: NOTE_ROLES[h.role]!, resource_instance: `notes:${notes[h.note]!.id}`, tenant: TENANT });
      } else if (h.workspace !== null && workspaceIds[h.workspace]) {
        await permit.api.roleAssignments.assign({ user: user(h.user), role: WS_ROLES[h.role]!, resource_instance: `workspaces:${workspaceIds[h.workspace]}`, tenant: TENANT }).catch(() => undefined);
      }
    }
    return { permit, close: () => pdp.close(), userIds, notes };
  } catch (error) {
    await pdp.close();
    throw error;
  }
}

// ─── the property ──────────────────────────────────────────────────────────────────────

const newestFirst = (a: Note, b: Note) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1);
const NO_SELECTION = { fieldNodes: [], fragments: {} } as unknown as GraphQLResolveInfo;

type Planner = Pick<ListPlanner, "notes">;

/** Checks one world; returns the first violation found, or null. */
async function violation(w: World, narrow = false): Promise<string | null> {
  const built = await build(w);
  try {
    const real = new ListPlanner({ permit: built.permit, tenant: TENANT, ttlMs: 0, timeoutMs: 5000, logger });
    const planner: Planner = narrow ? { notes: async (u) => dropRelations(await real.notes(u)) } : real;
    for (const userId of built.userIds) {
      const authorizer = new Authorizer({ permit: built.permit, user: { userId }, tenant: TENANT, logger });
      const decisions = await built.permit.bulkCheck(
        built.notes.map((n) => ({ user: { key: userId }, action: "get", resource: { ...noteResource(n), tenant: TENANT } })),
      );
      const readable = built.notes.filter((_, i) => decisions[i]).sort(newestFirst).map((n) => n.id);

      const candidates = await planner.notes(userId);
      const selected = new Set((await (await repository.scanner(candidates))(null, 1000, null)).map((n) => n.id));
      const missing = readable.filter((id) => !selected.has(id));
      if (missing.length > 0) return `user ${userId}: plan ${JSON.stringify(candidates)} misses readable notes ${missing.join(", ")}`;

      const ctx: AuthzContext = {
        principal: { userId, sessionId: randomUUID() } as AuthzContext["principal"],
        authorizer,
        loaders: { note: new DataLoader(async (ids) => ids.map(() => null)), workspace: new DataLoader(async (ids) => ids.map(() => null)) },
        listPlanner: planner,
      };
      const listed: string[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 50; pages++) {
        const page = await service.page({ first: w.pageSize, after, workspaceId: null, viewer: userId }, await notesAccess(ctx, NO_SELECTION));
        listed.push(...page.edges.map((e) => e.node.id));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      if (JSON.stringify(listed) !== JSON.stringify(readable)) return `user ${userId}: listed ${JSON.stringify(listed)}, readable ${JSON.stringify(readable)}`;
    }
    return null;
  } finally {
    await built.close();
  }
}

/** A planner that forgets derived roles: notes readable through a workspace role go missing. */
function dropRelations(c: NoteCandidates): NoteCandidates {
  if (c.kind !== "where") return c;
  const strip = (x: PlanCondition): PlanCondition | null => {
    if (x.kind === "related") return null;
    if (x.kind === "any" || x.kind === "all") {
      const items = x.items.map(strip).filter((i): i is PlanCondition => i !== null);
      return items.length === 0 ? null : { ...x, items };
    }
    return x;
  };
  const condition = strip(c.condition);
  return condition === null ? { kind: "none" } : { ...c, condition };
}

describe("list plans against the PDP, over random policies and data", () => {
  it("select every readable note, and pages list exactly the readable notes in order", async () => {
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const found = await violation(w);
        expect(found).toBeNull();
      }),
      { numRuns: 40, seed: Number(process.env.FC_SEED ?? 20261129), endOnFailure: true },
    );
  });

  it("catch a planner that narrows (one forgetting roles derived through workspaces)", async () => {
    const result = await fc.check(
      fc.asyncProperty(world, async (w) => (await violation(w, true)) === null),
      { numRuns: 60, seed: Number(process.env.FC_SEED ?? 20261129), endOnFailure: true },
    );
    expect(result.failed).toBe(true);
    expect(result.counterexample).not.toBeNull();
  });
});
