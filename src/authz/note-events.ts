/**
 * Who may see a note event: `get` on the note, for many subscribers (different users) at
 * once, in ONE `bulkCheck` (the SDK's bulk call takes a user per check). The resource is
 * built from the stored row (for a deleted note, the row as it was just before the delete),
 * never from anything a client sent.
 */
import type { Permit } from "permitio";
import { authzUnavailable } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import type { Note } from "../notes/note.entity";
import { toAuthzError } from "../permit/client";
import { NoteAction, Resource } from "./policy";
import { noteResource } from "./resources";

export interface NoteReadCheck {
  userId: string;
  note: Pick<Note, "id" | "ownerId" | "workspaceId">;
}

export interface NoteReadDeciderOptions {
  /** The SDK's decision calls through the PDP circuit breaker. */
  permit: Pick<Permit, "bulkCheck">;
  tenant: string;
  logger: Logger;
  metrics?: Pick<Metrics, "decisions">;
}

/**
 * Decides every check in one PDP call: true/false per check, in order. Rejects with
 * AUTHZ_UNAVAILABLE when the PDP cannot decide; there is no default answer.
 */
export type NoteReadDecider = (checks: readonly NoteReadCheck[]) => Promise<boolean[]>;

export function createNoteReadDecider(options: NoteReadDeciderOptions): NoteReadDecider {
  return async (checks) => {
    if (checks.length === 0) return [];
    const queries = checks.map(({ userId, note }) => {
      const resource = noteResource(note);
      return {
        user: { key: userId },
        action: NoteAction.get,
        resource: { type: resource.type, key: resource.key, tenant: options.tenant, attributes: resource.attributes },
      };
    });
    let answers: boolean[];
    try {
      answers = await options.permit.bulkCheck(queries, undefined, { throwOnError: true });
    } catch (error) {
      throw toAuthzError(error, options.logger);
    }
    if (!Array.isArray(answers) || answers.length !== checks.length) {
      // Decisions are matched to checks by position only: a short or long answer is refused whole.
      options.logger.error({ expected: checks.length, received: Array.isArray(answers) ? answers.length : typeof answers }, "PDP bulk answer does not match the checks sent; failing closed");
      throw authzUnavailable(new Error("bulk check answer does not match the checks sent"));
    }
    const decisions = answers.map((answer) => answer === true);
    for (const allowed of decisions) options.metrics?.decisions.inc({ resource: Resource.notes, action: NoteAction.get, result: allowed ? "allow" : "deny" });
    return decisions;
  };
}
