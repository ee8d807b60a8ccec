/**
 * Who may see a note event: `get` on the note, for many subscribers (different users) at
 * once, in ONE `bulkCheck` (the SDK's bulk call takes a user per check). The resource is
 * built from the stored row (for a deleted note, the row as it was just before the delete),
 * never from anything a client sent. The decisions are counted and logged like a request's
 * (authorizer.ts#decideInBulk); a withheld event is a filter, not a refusal, so it is logged
 * at debug level only, as a list's filtered rows are.
 */
import type { Note } from "../notes/note.entity";
import { decideInBulk, type BulkDecisionDeps } from "./authorizer";
import { NoteAction } from "./policy";
import { noteResource } from "./resources";

export interface NoteReadCheck {
  userId: string;
  note: Pick<Note, "id" | "ownerId" | "workspaceId">;
}

/**
 * Decides every check in one PDP call: true/false per check, in order. Rejects with
 * AUTHZ_UNAVAILABLE when the PDP cannot decide; there is no default answer.
 */
export type NoteReadDecider = (checks: readonly NoteReadCheck[]) => Promise<boolean[]>;

export function createNoteReadDecider(deps: BulkDecisionDeps): NoteReadDecider {
  return async (checks) => {
    const decisions = await decideInBulk(
      deps,
      checks.map(({ userId, note }) => ({ user: userId, action: NoteAction.get, resource: noteResource(note) })),
    );
    return decisions.map((d) => d.allow);
  };
}
