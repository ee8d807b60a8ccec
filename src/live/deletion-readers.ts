/**
 * Who may get the DELETED event of a note: the subscribed users (on any replica) who could
 * read it just before the deletion, decided by the writer before it deletes, in one bulk call.
 * Decided afterwards, a replica could find that the deletion's own fact had already reached the
 * PDP, which then no longer knows the note's workspace, and a reader through a workspace role
 * would miss the event.
 */
import { decideInBulk, type BulkDecisionDeps } from "../authz/authorizer";
import { NoteAction } from "../authz/policy";
import { noteResource } from "../authz/resources";
import { ErrorCode, isAppError } from "../common/errors";
import type { DeletionReaders } from "../notes/note-events";
import type { SubscriberRegistry } from "./subscriber-registry";

export function createDeletionReaders(registry: Pick<SubscriberRegistry, "subscribedUsers">, deps: BulkDecisionDeps): DeletionReaders {
  return async (note) => {
    const users = await registry.subscribedUsers(note.workspaceId);
    if (users.length === 0) return [];
    const resource = noteResource(note);
    try {
      const decisions = await decideInBulk(deps, users.map((user) => ({ user, action: NoteAction.get, resource })));
      return users.filter((_, i) => decisions[i]!.allow);
    } catch (error) {
      if (!isAppError(error) || error.code !== ErrorCode.AUTHZ_UNAVAILABLE) throw error;
      // The deletion goes on; its subscribers get AUTHZ_UNAVAILABLE instead of an unchecked event.
      deps.logger.warn({ noteId: note.id, subscribers: users.length }, "the readers of a deleted note could not be decided");
      return null;
    }
  };
}
