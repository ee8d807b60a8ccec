/**
 * graphql-shield rules. Each one loads the entity it decides on through the request's
 * DataLoader and asks the request's Authorizer, so the attributes come from the stored row
 * and the checks of one tick share one PDP call. Rules return errors instead of `false` where
 * the contract wants a specific code (NOT_FOUND vs FORBIDDEN); a PDP failure propagates as
 * AUTHZ_UNAVAILABLE (shield's `allowExternalErrors`) and is never turned into a deny.
 *
 * Cache: `no_cache` everywhere. Shield's `contextual` cache ignores the parent and the
 * arguments and would leak one object's decision to another; the Authorizer memoizes
 * decisions per (action, resource) for the request instead.
 */
import type { GraphQLResolveInfo } from "graphql";
import { allow, rule } from "graphql-shield";
import { forbidden, notFound } from "../common/errors";
import { requestedSubfields } from "../common/selection";
import { isUuid } from "../common/validation";
import { requireCaller, type AuthzContext } from "./context";
import { NoteAction, Resource, WorkspaceAction } from "./policy";
import { newNoteResource, newWorkspaceResource, noteResource, workspaceResource, workspaceViewerCanActions } from "./resources";

type Args = Record<string, unknown>;

/**
 * Shield turns an error *thrown* by a rule into a silent deny; these rules *return* it instead,
 * so NOT_FOUND, UNAUTHENTICATED and AUTHZ_UNAVAILABLE reach the client as they are.
 */
const entityRule = (
  name: string,
  fn: (parent: unknown, args: Args, ctx: AuthzContext, info: GraphQLResolveInfo) => Promise<true | Error>,
) =>
  rule(name, { cache: "no_cache" })(async (parent, args, ctx: AuthzContext, info: GraphQLResolveInfo) => {
    try {
      return await fn(parent, args as Args, ctx, info);
    } catch (error) {
      return error instanceof Error ? error : new Error(String(error));
    }
  });

const authorizerOf = (ctx: AuthzContext) => requireCaller(ctx).authorizer;

/**
 * Loads a note the caller may `action`, or refuses with NOT_FOUND for both "missing" and "not
 * readable" (the same error and a `decisionId` either way; the log tells them apart).
 */
async function readableNote(ctx: AuthzContext, id: unknown, action: string) {
  const authorizer = authorizerOf(ctx);
  // A malformed id is left to the resolver, which answers BAD_USER_INPUT.
  if (typeof id !== "string" || !isUuid(id)) return { note: null, authorizer };
  const note = await ctx.loaders.note.load(id.toLowerCase());
  if (!note) throw await authorizer.refuse(authorizer.missing(action, { type: Resource.notes, key: id.toLowerCase() }), notFound("Note", id));
  return { note, authorizer };
}

/**
 * Loads a workspace the caller may read, or refuses with NOT_FOUND. `alsoAsk` are further
 * actions on it that the caller will need: they are decided in the same PDP call as `get`.
 */
async function readableWorkspace(ctx: AuthzContext, id: unknown, alsoAsk: readonly string[] = []) {
  const authorizer = authorizerOf(ctx);
  if (typeof id !== "string" || !isUuid(id)) return { workspace: null, authorizer };
  const workspace = await ctx.loaders.workspace.load(id.toLowerCase());
  if (!workspace) {
    throw await authorizer.refuse(authorizer.missing(WorkspaceAction.get, { type: Resource.workspaces, key: id.toLowerCase() }), notFound("Workspace", id));
  }
  const resource = workspaceResource(workspace);
  authorizer.prefetch(alsoAsk, resource);
  const get = await authorizer.decide(WorkspaceAction.get, resource);
  if (!get.allow) throw await authorizer.refuse(get, notFound("Workspace", id));
  return { workspace, authorizer };
}

export const isAuthenticated = entityRule("isAuthenticated", async (_p, _args, ctx) => {
  authorizerOf(ctx);
  return true;
});

export const canReadNote = entityRule("canReadNote", async (_p, args, ctx, info) => {
  const { note, authorizer } = await readableNote(ctx, args.id, NoteAction.get);
  if (!note) return true;
  const resource = noteResource(note);
  // What `viewerCan` will ask for is decided in the same PDP call as `get`.
  authorizer.prefetch(requestedSubfields(info, ["viewerCan"]), resource);
  const get = await authorizer.decide(NoteAction.get, resource);
  return get.allow ? true : authorizer.refuse(get, notFound("Note", String(args.id)));
});

/** `put`/`delete` on a note: NOT_FOUND if the caller may not even read it, else FORBIDDEN. */
const canChangeNote = (action: typeof NoteAction.put | typeof NoteAction.delete) =>
  entityRule(`canChangeNote_${action}`, async (_p, args, ctx) => {
    const { note, authorizer } = await readableNote(ctx, args.id, action);
    if (!note) return true;
    const resource = noteResource(note);
    const [get, change] = await Promise.all([authorizer.decide(NoteAction.get, resource), authorizer.decide(action, resource)]);
    if (!get.allow) return authorizer.refuse(get, notFound("Note", String(args.id)));
    return change.allow ? true : authorizer.refuse(change, forbidden(`You may not ${action === NoteAction.put ? "update" : "delete"} this note.`));
  });
export const canUpdateNote = canChangeNote(NoteAction.put);
export const canDeleteNote = canChangeNote(NoteAction.delete);

export const canCreateNote = entityRule("canCreateNote", async (_p, args, ctx) => {
  const authorizer = authorizerOf(ctx);
  const input = (args.input ?? {}) as { workspaceId?: unknown };
  const owner = ctx.principal!.userId;
  const mayCreate = "You may not create notes.";
  if (input.workspaceId === undefined || input.workspaceId === null) {
    const post = await authorizer.decide(NoteAction.post, newNoteResource(owner));
    return post.allow ? true : authorizer.refuse(post, forbidden(mayCreate));
  }
  // With the workspace loaded first, post, get and add_note go to the PDP in one call.
  if (typeof input.workspaceId === "string" && isUuid(input.workspaceId)) {
    await ctx.loaders.workspace.load(input.workspaceId.toLowerCase());
  }
  const [post, target] = await Promise.all([
    authorizer.decide(NoteAction.post, newNoteResource(owner)),
    readableWorkspace(ctx, input.workspaceId, [WorkspaceAction.add_note]),
  ]);
  if (!post.allow) return authorizer.refuse(post, forbidden(mayCreate));
  if (!target.workspace) return true;
  const addNote = await authorizer.decide(WorkspaceAction.add_note, workspaceResource(target.workspace));
  return addNote.allow ? true : authorizer.refuse(addNote, forbidden("You may not add notes to this workspace."));
});

/**
 * `notes(workspaceId)` and `noteEvents(workspaceId)`: the workspace must be readable (else
 * NOT_FOUND); the notes themselves are filtered by the resolver, or decided at each event.
 */
export const canListNotes = entityRule("canListNotes", async (_p, args, ctx) => {
  authorizerOf(ctx);
  if (args.workspaceId !== undefined && args.workspaceId !== null) await readableWorkspace(ctx, args.workspaceId);
  return true;
});

export const canReadWorkspace = entityRule("canReadWorkspace", async (_p, args, ctx, info) => {
  await readableWorkspace(ctx, args.id, workspaceViewerCanActions(info));
  return true;
});

export const canCreateWorkspace = entityRule("canCreateWorkspace", async (_p, _args, ctx) => {
  const authorizer = authorizerOf(ctx);
  const post = await authorizer.decide(WorkspaceAction.post, newWorkspaceResource());
  return post.allow ? true : authorizer.refuse(post, forbidden("You may not create workspaces."));
});

/** `share` on a workspace: NOT_FOUND if not readable, else FORBIDDEN. */
export const canShareWorkspace = entityRule("canShareWorkspace", async (_p, args, ctx) => {
  const { workspace, authorizer } = await readableWorkspace(ctx, args.workspaceId, [WorkspaceAction.share]);
  if (!workspace) return true;
  const share = await authorizer.decide(WorkspaceAction.share, workspaceResource(workspace));
  return share.allow ? true : authorizer.refuse(share, forbidden("You may not manage the members of this workspace."));
});

/**
 * Fields of an object that reached the caller through an authorized parent field (or that
 * decide for themselves, like `viewerCan` and `Note.workspace`).
 */
export const authorizedByParent = allow;
