/**
 * A random world for the property tests (fast-check): users with a tenant role and maybe the
 * premium plan, workspaces with an owner and members, notes in a workspace or not. It is seeded
 * as database rows and as the facts the API would have written to Permit, through the real SDK.
 * Users and workspaces are named by index; an index past the end wraps around (users) or means
 * no workspace (notes), so every generated world can be seeded.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import type { Permit } from "permitio";
import type { DataSource } from "typeorm";
import { createLogger } from "../../src/common/logger";
import { PermitFacts } from "../../src/permit/fact-writer";
import type { WorkspaceRole } from "../../src/workspaces/workspace-member.entity";

/** The policy's workspace and note role keys, in the order generated role indexes name them. */
export const WS_ROLES = ["owner", "editor", "viewer"] as const;
export const NOTE_ROLES = ["manager", "editor", "viewer"] as const;
const DB_ROLE: Record<(typeof WS_ROLES)[number], WorkspaceRole> = { owner: "OWNER", editor: "EDITOR", viewer: "VIEWER" };

export interface RandomWorld {
  users: { tenantRole: null | "user" | "admin"; premium: boolean }[];
  workspaces: { owner: number; members: { user: number; role: number }[] }[];
  notes: { owner: number; workspace: number | null }[];
}

export interface WorldSize {
  users: { min: number; max: number };
  /** At most this many workspaces, each with at most `members` members besides its owner. */
  workspaces: number;
  members: number;
  notes: { min: number; max: number };
}

/** The arbitraries of a world's parts, to spread into a test's own `fc.record`. */
export function randomWorldParts(size: WorldSize): { [Part in keyof RandomWorld]: fc.Arbitrary<RandomWorld[Part]> } {
  const userIndex = fc.nat(size.users.max - 1);
  const tenantRole = fc.constantFrom(null, "user" as const, "user" as const, "admin" as const);
  const member = fc.record({ user: userIndex, role: fc.nat(WS_ROLES.length - 1) });
  return {
    users: fc.array(fc.record({ tenantRole, premium: fc.boolean() }), { minLength: size.users.min, maxLength: size.users.max }),
    workspaces: fc.array(fc.record({ owner: userIndex, members: fc.array(member, { maxLength: size.members }) }), { maxLength: size.workspaces }),
    notes: fc.array(fc.record({ owner: userIndex, workspace: fc.option(fc.nat(size.workspaces - 1), { freq: 2 }) }), {
      minLength: size.notes.min,
      maxLength: size.notes.max,
    }),
  };
}

/** The ids a world's users and workspaces get, known before it is seeded (a policy may name them). */
export interface WorldKeys {
  userIds: string[];
  workspaceIds: string[];
  /** The user a generated index names. */
  user(index: number): string;
}

export function worldKeys(world: RandomWorld): WorldKeys {
  const userIds = world.users.map(() => randomUUID());
  const workspaceIds = world.workspaces.map(() => randomUUID());
  return { userIds, workspaceIds, user: (index) => userIds[index % userIds.length]! };
}

export interface SeededNote {
  id: string;
  ownerId: string;
  workspaceId: string | null;
  createdAt: Date;
}

/**
 * Writes the world into an emptied database and into Permit, whose policy must already be
 * applied (the role assignments name its roles). Answers the notes, in the world's order.
 */
export async function seedWorld(
  ds: DataSource,
  permit: Permit,
  world: RandomWorld,
  keys: WorldKeys,
  options: { tenant?: string; noteCreatedAt?: (index: number) => Date } = {},
): Promise<SeededNote[]> {
  const tenant = options.tenant ?? "default";
  const facts = new PermitFacts({ permit, tenant, logger: createLogger("silent") });
  const { userIds, workspaceIds, user } = keys;
  for (const [i, u] of world.users.entries()) {
    await ds.query(`INSERT INTO users (id, email, permit_synced_at) VALUES ($1, $2, now())`, [userIds[i], `u${i}@example.com`]);
    await permit.api.users.create({ key: userIds[i]!, email: `u${i}@example.com`, ...(u.premium ? { attributes: { plan: "premium" } } : {}) });
    if (u.tenantRole) await permit.api.roleAssignments.assign({ user: userIds[i]!, role: u.tenantRole, tenant });
  }
  for (const [i, ws] of world.workspaces.entries()) {
    const owner = user(ws.owner);
    await ds.query(`INSERT INTO workspaces (id, name, owner_id) VALUES ($1, $2, $3)`, [workspaceIds[i], `w${i}`, owner]);
    await ds.query(`INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, 'OWNER')`, [workspaceIds[i], owner]);
    await facts.createWorkspace(workspaceIds[i]!, owner);
    for (const m of ws.members) {
      if (user(m.user) === owner) continue;
      const role = WS_ROLES[m.role]!;
      await ds.query(
        `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
        [workspaceIds[i], user(m.user), DB_ROLE[role]],
      );
      await facts.setWorkspaceRole(workspaceIds[i]!, user(m.user), role);
    }
  }
  const notes: SeededNote[] = [];
  for (const [i, n] of world.notes.entries()) {
    const id = randomUUID();
    const ownerId = user(n.owner);
    const workspaceId = n.workspace === null ? null : (workspaceIds[n.workspace] ?? null);
    const [row] = (await ds.query(
      `INSERT INTO notes (id, title, body, owner_id, workspace_id, version, created_at) VALUES ($1, $2, '', $3, $4, 1, COALESCE($5, now())) RETURNING created_at`,
      [id, `n${i}`, ownerId, workspaceId, options.noteCreatedAt?.(i) ?? null],
    )) as { created_at: Date }[];
    await facts.createNote(id, ownerId, workspaceId ?? undefined);
    notes.push({ id, ownerId, workspaceId, createdAt: row!.created_at });
  }
  return notes;
}
