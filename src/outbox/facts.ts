/**
 * The facts the API writes to the policy decision point so that ReBAC can decide
 * (policy.md, "Facts the API writes"). They are recorded in the transaction that causes them.
 */
import type { EntityManager } from "typeorm";
import type { WorkspaceRole } from "../workspaces/workspace-member.entity";
import { OutboxFact } from "./outbox.entity";

export type Fact =
  | { kind: "workspace.created"; workspaceId: string; ownerId: string }
  | { kind: "workspace.role_set"; workspaceId: string; userId: string; role: WorkspaceRole }
  | { kind: "workspace.role_removed"; workspaceId: string; userId: string }
  | { kind: "note.created"; noteId: string; ownerId: string; workspaceId: string | null }
  | { kind: "note.deleted"; noteId: string }
  /** Hanko deleted the user: every role assignment of theirs and the Permit user go. */
  | { kind: "user.deleted"; userId: string }
  /** Hanko changed the user's primary email (kept on the Permit user for lookups by email). */
  | { kind: "user.email_set"; userId: string; email: string | null };

/**
 * The result of a write that recorded facts. `factsPending` is true when the PDP had not
 * acknowledged them within the wait: the next request may still be decided without them.
 */
export interface Written<T> {
  value: T;
  factsPending: boolean;
}

export async function recordFacts(manager: EntityManager, facts: Fact[]): Promise<string[]> {
  if (facts.length === 0) return [];
  const rows = facts.map(({ kind, ...payload }) => manager.create(OutboxFact, { kind, payload }));
  const saved = await manager.save(OutboxFact, rows);
  return saved.map((row) => row.id);
}

export function factOf(row: Pick<OutboxFact, "kind" | "payload">): Fact {
  return { kind: row.kind, ...row.payload } as Fact;
}
