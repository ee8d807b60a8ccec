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
  return async (notes) => {
    const readers = new Map<string, string[]>(notes.map((n) => [n.id, []]));
    const subscribed = new Map<string | null, string[]>();
    for (const workspaceId of new Set(notes.map((n) => n.workspaceId))) subscribed.set(workspaceId, await registry.subscribedUsers(workspaceId));
    const checks = notes.flatMap((note) => subscribed.get(note.workspaceId)!.map((user) => ({ user, note })));
    if (checks.length === 0) return readers;
    try {
      const decisions = await decideInBulk(deps, checks.map(({ user, note }) => ({ user, action: NoteAction.get, resource: noteResource(note) })));
      checks.forEach(({ user, note }, i) => decisions[i]!.allow && readers.get(note.id)!.push(user));
      return readers;
    } catch (error) {
      if (!isAppError(error) || error.code !== ErrorCode.AUTHZ_UNAVAILABLE) throw error;
      // The deletion goes on; its subscribers get AUTHZ_UNAVAILABLE instead of an unchecked event.
      deps.logger.warn({ notes: notes.length, checks: checks.length }, "the readers of deleted notes could not be decided");
      return null;
    }
  };
}
