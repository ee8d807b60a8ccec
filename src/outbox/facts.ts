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

/** Every kind of fact (the `kind` label of the outbox metrics). */
export const FACT_KINDS = [
  "workspace.created",
  "workspace.role_set",
  "workspace.role_removed",
  "note.created",
  "note.deleted",
  "user.deleted",
  "user.email_set",
] as const satisfies readonly Fact["kind"][];

/**
 * The objects a fact concerns, as `type:id` keys (`workspaces:…`, `notes:…`, `users:…`): those
 * it changes in Permit, and those it only relies on (a note's workspace, a member's user).
 * Delivery keeps two facts in commit order when one changes an object the other concerns;
 * facts that only rely on the same object (two shares with one user) may pass each other.
 * `migrations/…-OutboxObjects.ts` computes the same keys in SQL for the facts it found pending.
 */
export interface FactObjects {
  changes: string[];
  reliesOn: string[];
}

const workspace = (id: string) => `workspaces:${id}`;
const note = (id: string) => `notes:${id}`;
const user = (id: string) => `users:${id}`;

export function objectsOf(fact: Fact): FactObjects {
  switch (fact.kind) {
    case "workspace.created":
      return { changes: [workspace(fact.workspaceId)], reliesOn: [user(fact.ownerId)] };
    case "workspace.role_set":
    case "workspace.role_removed":
      // A role on the workspace: ordered with everything else about that workspace, and before
      // a later deletion of the user (which removes every role of theirs).
      return { changes: [workspace(fact.workspaceId)], reliesOn: [user(fact.userId)] };
    case "note.created":
      // The note's tuple names its workspace, which must exist first. Its owner is an attribute only.
      return { changes: [note(fact.noteId)], reliesOn: fact.workspaceId ? [workspace(fact.workspaceId)] : [] };
    case "note.deleted":
      return { changes: [note(fact.noteId)], reliesOn: [] };
    case "user.deleted":
    case "user.email_set":
      return { changes: [user(fact.userId)], reliesOn: [] };
  }
}

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
  const rows = facts.map((fact) => {
    const { kind, ...payload } = fact;
    const { changes, reliesOn } = objectsOf(fact);
    return manager.create(OutboxFact, { kind, payload, objectKeys: [...changes, ...reliesOn], changedKeys: changes });
  });
  const saved = await manager.save(OutboxFact, rows);
  return saved.map((row) => row.id);
}

export function factOf(row: Pick<OutboxFact, "kind" | "payload">): Fact {
  return { kind: row.kind, ...row.payload } as Fact;
}
