/**
 * Decisions on notes that the resolvers need beyond the shield rules: which candidates of a
 * list page the caller may read, what `viewerCan` says, and whether a note's workspace may be
 * shown. Each asks the request's Authorizer, so they share its one bulk call per tick.
 */
import type { GraphQLResolveInfo } from "graphql";
import { requestedSubfields } from "../common/selection";
import type { Note } from "../notes/note.entity";
import { isWholeNote } from "../notes/note.repository";
import type { ListAccess } from "../notes/note.service";
import type { Workspace } from "../workspaces/workspace.entity";
import { requireCaller, type AuthzContext } from "./context";
import { NoteAction, NoteViewerCan, WorkspaceAction } from "./policy";
import { noteResource, workspaceResource } from "./resources";

/**
 * How a `notes` page finds its rows: the candidates the list plan selects (list-plan.ts), each
 * then decided by the PDP. What the page's `viewerCan` will ask is decided in the same PDP
 * call as `get`, for the candidates that can still make it onto the page, except where the
 * answer is known: a note outside an action's plan is refused it without a check (the plan is
 * never narrower than the policy, so the PDP could only refuse too). Readable notes are primed
 * into the loader when read whole.
 */
export async function notesAccess(ctx: AuthzContext, info: GraphQLResolveInfo): Promise<ListAccess> {
  const { principal, authorizer } = requireCaller(ctx);
  const prefetch = requestedSubfields(info, ["edges", "node", "viewerCan"]);
  const others = prefetch.filter((action) => action !== NoteAction.get);
  const [candidates, ...plans] = await Promise.all([
    ctx.listPlanner.notes(principal.userId),
    ...others.map((action) => ctx.listPlanner.notes(principal.userId, action)),
  ]);
  return {
    candidates,
    otherActions: new Map(others.map((action, i) => [action, plans[i]!])),
    readable: async (batch, wanted, outside) => {
      const allowed = await Promise.all(
        batch.map((note, i) => {
          const resource = noteResource(note);
          if (i < wanted) {
            // Recorded first, so that the prefetch asks the PDP only the others.
            for (const action of others) if (outside(action, note)) authorizer.denyOutsidePlan(action, resource);
            authorizer.prefetch(prefetch, resource);
          }
          return authorizer.can(NoteAction.get, resource);
        }),
      );
      // Only whole notes: a note read without its body must not answer a later `note(id) { body }`.
      batch.forEach((note, i) => allowed[i] && isWholeNote(note) && ctx.loaders.note.prime(note.id, note));
      return allowed;
    },
  };
}

type NotePermissions = { get: boolean; put: boolean; delete: boolean };

/**
 * `Note.viewerCan`: from the same decisions that enforce the operations. On a list page they
 * were all made while filtering it, so the answer comes without waiting (no promise per row).
 */
export function notePermissions(ctx: AuthzContext, note: Pick<Note, "id" | "ownerId" | "workspaceId">): NotePermissions | Promise<NotePermissions> {
  const { authorizer } = requireCaller(ctx);
  const resource = noteResource(note);
  const get = authorizer.settled(NoteAction.get, resource);
  const put = authorizer.settled(NoteAction.put, resource);
  const del = authorizer.settled(NoteAction.delete, resource);
  if (get && put && del) return { get: get.allow, put: put.allow, delete: del.allow };
  return Promise.all(NoteViewerCan.map((action) => authorizer.can(action, resource))).then(([get, put, del]) => ({ get: get!, put: put!, delete: del! }));
}

/** `Note.workspace`: the workspace, or null when the caller may not read it (its name and members stay hidden). */
export async function visibleWorkspace(ctx: AuthzContext, workspace: Workspace | null): Promise<Workspace | null> {
  if (!workspace) return null;
  const { authorizer } = requireCaller(ctx);
  return (await authorizer.can(WorkspaceAction.get, workspaceResource(workspace))) ? workspace : null;
}
