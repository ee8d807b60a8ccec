/** Applies one recorded fact (outbox/facts.ts) to the PDP through the idempotent fact writers. */
import type { Fact } from "../outbox/facts";
import type { FactSink } from "../outbox/delivery";
import type { PermitFacts } from "./fact-writer";

export function createFactSink(facts: PermitFacts): FactSink {
  return async (fact: Fact) => {
    switch (fact.kind) {
      case "workspace.created":
        return facts.createWorkspace(fact.workspaceId, fact.ownerId);
      case "workspace.role_set":
        return facts.setWorkspaceRole(fact.workspaceId, fact.userId, fact.role);
      case "workspace.role_removed":
        return facts.removeWorkspaceRole(fact.workspaceId, fact.userId);
      case "note.created":
        return facts.createNote(fact.noteId, fact.ownerId, fact.workspaceId ?? undefined);
      case "note.deleted":
        return facts.deleteNote(fact.noteId);
      case "user.deleted":
        return facts.deleteUser(fact.userId);
      case "user.email_set":
        return facts.setUserEmail(fact.userId, fact.email);
    }
  };
}
