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
import { parse, type FieldNode, type GraphQLResolveInfo, type OperationDefinitionNode } from "graphql";
import type { Permit } from "permitio";
import type { DataSource } from "typeorm";
import { startLocalPdp, type PlanCondition } from "@notes/local-pdp";
import { Authorizer } from "../../src/authz/authorizer";
import type { AuthzContext } from "../../src/authz/context";
import { ListPlanner } from "../../src/authz/list-plan";
import { notePermissions, notesAccess } from "../../src/authz/notes";
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
    /** Which of put and delete each source of grants gives on notes (the viewerCan property). */
    writes: { user: Write[]; admin: Write[]; ownNotes: Write[]; wsNotes: Write[]; noteRoles: Write[][] };
  };
  handMade: { user: number; note: number | null; workspace: number | null; role: number }[];
  pageSize: number;
}

type Write = "put" | "delete";
const writes = () => fc.subarray<Write>(["put", "delete"]);

const world: fc.Arbitrary<World> = fc.record({
  policy: fc.record({
    userGets: fc.boolean(),
    adminGets: fc.boolean(),
    wsRoleGets: fc.array(fc.boolean(), { minLength: 3, maxLength: 3 }),
    noteRoles: fc.array(fc.record({ gets: fc.boolean(), derivedFrom: fc.option(fc.nat(2), { freq: 3 }) }), { minLength: 3, maxLength: 3 }),
    ownNotesRule: fc.constantFrom(null, "__autogen_user", "__autogen_admin", "premium") as fc.Arbitrary<World["policy"]["ownNotesRule"]>,
    wsNotesRule: fc.option(fc.record({ userSet: fc.constantFrom("__autogen_user" as const, "premium" as const), workspaces: fc.uniqueArray(fc.nat(2), { maxLength: 2 }) })),
    allNotesForPremium: fc.boolean(),
    writes: fc.record({
      user: writes(),
      admin: writes(),
      ownNotes: writes(),
      wsNotes: writes(),
      noteRoles: fc.array(writes(), { minLength: 3, maxLength: 3 }),
    }),
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
  const w_ = p.writes;
  const on = (actions: Write[]) => actions.map((a) => `notes:${a}`);
  const setRules: Policy["setRules"][number][] = [];
  if (p.ownNotesRule) setRules.push({ userSet: p.ownNotesRule, resourceSet: "own_notes", permissions: [notesGet, ...on(w_.ownNotes)] });
  if (p.wsNotesRule) {
    const ids = p.wsNotesRule.workspaces.map((i) => workspaceIds[i]).filter((id): id is string => id !== undefined);
    conditionSets.push({ key: "ws_notes", name: "Some workspaces' notes", type: "resourceset", resource: "notes", conditions: { allOf: [{ "resource.workspace": { in: ids } }] } });
    setRules.push({ userSet: p.wsNotesRule.userSet, resourceSet: "ws_notes", permissions: [notesGet, ...on(w_.wsNotes)] });
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
            permissions: [...new Set([r.gets ? "get" : "put", ...w_.noteRoles[i]!])],
            grantedTo: r.derivedFrom === null ? [] : [{ role: WS_ROLES[r.derivedFrom]!, onResource: "workspaces" as const, linkedByRelation: "parent" as const }],
          };
        }),
      },
    ],
    roles: [
      { key: "admin", name: "Admin", permissions: [...(p.adminGets ? [notesGet, "notes:post"] : ["notes:post"]), ...on(w_.admin)] },
      { key: "user", name: "User", permissions: [...(p.userGets ? [notesGet, "notes:post"] : ["notes:post"]), ...on(w_.user)] },
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
      const selected = new Set((await repository.scanner(candidates, await repository.membershipsFor([candidates]), false)(null, 1000, null)).map((n) => n.id));
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
        const page = await service.page({ first: w.pageSize, after, workspaceId: null, viewer: userId, withBodies: false }, await notesAccess(ctx, NO_SELECTION));
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

/** A `notes` field selecting `edges { node { viewerCan { get put delete } } }`, as the resolver sees it. */
const WITH_VIEWER_CAN = {
  fieldNodes: [((parse(`{ notes { edges { node { viewerCan { get put delete } } } } }`).definitions[0] as OperationDefinitionNode).selectionSet.selections[0] as FieldNode)],
  fragments: {},
} as unknown as GraphQLResolveInfo;

const denialsOutsidePlan = jest.spyOn(Authorizer.prototype, "denyOutsidePlan");

/**
 * Checks one world for `viewerCan` on list pages: every note listed answers exactly what the
 * PDP answers for get, put and delete. Returns the first violation (or null) and how many
 * answers were known from the plans without a check.
 */
async function viewerCanViolation(w: World, narrow = false): Promise<{ violation: string | null; known: number }> {
  const built = await build(w);
  const known0 = denialsOutsidePlan.mock.calls.length;
  const result = (violation: string | null) => ({ violation, known: denialsOutsidePlan.mock.calls.length - known0 });
  try {
    const real = new ListPlanner({ permit: built.permit, tenant: TENANT, ttlMs: 0, timeoutMs: 5000, logger });
    // Narrowing the plans of put and delete: notes writable through a workspace role would read as not writable.
    const planner: Planner = narrow ? { notes: async (u, action) => (action && action !== "get" ? dropRelations(await real.notes(u, action)) : real.notes(u)) } : real;
    const actions = ["get", "put", "delete"] as const;
    for (const userId of built.userIds) {
      const answers = await built.permit.bulkCheck(
        built.notes.flatMap((n) => actions.map((action) => ({ user: { key: userId }, action, resource: { ...noteResource(n), tenant: TENANT } }))),
      );
      const truth = new Map(built.notes.map((n, i) => [n.id, { get: answers[3 * i], put: answers[3 * i + 1], delete: answers[3 * i + 2] }]));
      let after: string | null = null;
      for (let pages = 0; pages < 50; pages++) {
        // One request per page: its own Authorizer.
        const ctx: AuthzContext = {
          principal: { userId, sessionId: randomUUID() } as AuthzContext["principal"],
          authorizer: new Authorizer({ permit: built.permit, user: { userId }, tenant: TENANT, logger }),
          loaders: { note: new DataLoader(async (ids) => ids.map(() => null)), workspace: new DataLoader(async (ids) => ids.map(() => null)) },
          listPlanner: planner,
        };
        const page = await service.page({ first: w.pageSize, after, workspaceId: null, viewer: userId, withBodies: true }, await notesAccess(ctx, WITH_VIEWER_CAN));
        for (const { node } of page.edges) {
          const got = await notePermissions(ctx, node);
          if (JSON.stringify(got) !== JSON.stringify(truth.get(node.id))) {
            return result(`user ${userId}, note ${node.id}: viewerCan ${JSON.stringify(got)}, the PDP answers ${JSON.stringify(truth.get(node.id))}`);
          }
        }
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
    }
    return result(null);
  } finally {
    await built.close();
  }
}

describe("viewerCan on list pages, over random policies and data", () => {
  it("answers what the PDP answers for every note, also where the plans answer without a check", async () => {
    let known = 0;
    await fc.assert(
      fc.asyncProperty(world, async (w) => {
        const found = await viewerCanViolation(w);
        known += found.known;
        expect(found.violation).toBeNull();
      }),
      { numRuns: 40, seed: Number(process.env.FC_SEED ?? 20261206), endOnFailure: true },
    );
    // The shortcut was taken: the property is not about a path never run.
    expect(known).toBeGreaterThan(20);
  });

  it("catch plans for put and delete that narrow (forgetting roles derived through workspaces)", async () => {
    const result = await fc.check(
      fc.asyncProperty(world, async (w) => (await viewerCanViolation(w, true)).violation === null),
      { numRuns: 80, seed: Number(process.env.FC_SEED ?? 20261206), endOnFailure: true },
    );
    expect(result.failed).toBe(true);
  });
});

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
