/**
 * Decisions of the change feed (changes/change-feed.ts): the caller's list plan narrows the log
 * in SQL, and `get` on each remaining note is asked of the request's Authorizer in the same
 * tick, so a page costs one bulk PDP call. A note shown is primed into the loader, so its
 * fields are resolved from the row that was decided on.
 */
import type { ChangeAccess } from "../changes/change-feed";
import type { Note } from "../notes/note.entity";
import { requireCaller, type AuthzContext } from "./context";
import { NoteAction } from "./policy";
import { noteResource } from "./resources";

export async function changesAccess(ctx: AuthzContext): Promise<ChangeAccess> {
  const { principal, authorizer } = requireCaller(ctx);
  return {
    userId: principal.userId,
    candidates: await ctx.listPlanner.notes(principal.userId),
    readable: async (notes) => {
      const allowed = await Promise.all(notes.map((note) => authorizer.can(NoteAction.get, noteResource(note))));
      notes.forEach((note, i) => allowed[i] && "title" in note && ctx.loaders.note.prime(note.id, note as Note));
      return allowed;
    },
  };
}
