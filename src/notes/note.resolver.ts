import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLResolveInfo } from "graphql";
import { settle, viewerOf, type RequestContext } from "../graphql/context";
import { noteResource, workspaceResource } from "../authz/resources";
import { NoteAction, NoteViewerCan, WorkspaceAction } from "../authz/policy";
import { notFound } from "../common/errors";
import { requestedSubfields } from "../graphql/selection";
import { UserType } from "../users/user.types";
import { optionalId, requireId } from "../common/validation";
import { WorkspaceType } from "../workspaces/workspace.types";
import type { Note } from "./note.entity";
import { CreateNoteInput, NoteConnectionType, NotePermissionsType, NoteType, UpdateNoteInput } from "./note.types";
import type { NotePage } from "./note.service";

/**
 * Thin resolvers: authorization happens in the shield rules (authz/rules.ts) before these run,
 * and in `notes` through the list filter, so nothing here decides who may do what.
 */
@Resolver(() => NoteType)
export class NoteResolver {
  @Query(() => NoteType, { nullable: true, description: "One note. NOT_FOUND when missing or not readable by the caller." })
  async note(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Note> {
    const note = await ctx.loaders.note.load(requireId(id, "id"));
    if (!note) throw notFound("Note", id);
    return note;
  }

  @Query(() => NoteConnectionType, {
    description:
      "Notes the caller may `get`, newest first (createdAt desc, id desc), cursor-paginated.\n" +
      "Every node returned is one the caller may read; no readable note is skipped between pages.\n" +
      "With workspaceId, only that workspace's notes (NOT_FOUND if the workspace is not readable).\n" +
      "first: 1..100 (BAD_USER_INPUT otherwise).",
  })
  async notes(
    @Arg("first", () => Int, { nullable: true, defaultValue: 20 }) first: number,
    @Arg("after", () => String, { nullable: true }) after: string | null | undefined,
    @Arg("workspaceId", () => ID, { nullable: true }) workspaceId: string | null | undefined,
    @Ctx() ctx: RequestContext,
    @Info() info: GraphQLResolveInfo,
  ): Promise<NotePage> {
    const { principal, authorizer } = viewerOf(ctx);
    // Permissions that `viewerCan` will ask for are decided in the same PDP call as `get`.
    const prefetch = requestedSubfields(info, ["edges", "node", "viewerCan"]);
    return ctx.services.notes.page(
      { first, after, workspaceId: optionalId(workspaceId, "workspaceId"), viewer: principal.userId },
      async (batch) => {
        const decisions = batch.map((note) => {
          const resource = noteResource(note);
          authorizer.prefetch(prefetch, resource);
          return authorizer.can(NoteAction.get, resource);
        });
        const allowed = await Promise.all(decisions);
        batch.forEach((note, i) => allowed[i] && ctx.loaders.note.prime(note.id, note));
        return allowed;
      },
    );
  }

  @Mutation(() => NoteType, { description: "Create a note owned by the caller, optionally inside a workspace (needs add_note there)." })
  async createNote(@Arg("input", () => CreateNoteInput) input: CreateNoteInput, @Ctx() ctx: RequestContext): Promise<Note> {
    const { principal } = viewerOf(ctx);
    const workspaceId = optionalId(input.workspaceId, "workspaceId");
    return settle(ctx, await ctx.services.notes.create(principal.userId, { ...input, workspaceId }));
  }

  @Mutation(() => NoteType, { description: "Update title/body. With expectedVersion, CONFLICT when the note changed meanwhile." })
  updateNote(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateNoteInput) input: UpdateNoteInput,
    @Ctx() ctx: RequestContext,
  ): Promise<Note> {
    viewerOf(ctx);
    return ctx.services.notes.update(requireId(id, "id"), input);
  }

  @Mutation(() => ID, { description: "Delete a note; returns its id." })
  async deleteNote(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<string> {
    viewerOf(ctx);
    return settle(ctx, await ctx.services.notes.delete(requireId(id, "id")));
  }

  @FieldResolver(() => UserType)
  async owner(@Root() note: Note, @Ctx() ctx: RequestContext): Promise<UserType> {
    const user = await ctx.loaders.user.load(note.ownerId);
    return { id: note.ownerId, email: user?.email ?? null };
  }

  @FieldResolver(() => WorkspaceType, {
    nullable: true,
    description: "The workspace the note belongs to; null for a personal note or one whose workspace the caller may not read.",
  })
  async workspace(@Root() note: Note, @Ctx() ctx: RequestContext): Promise<WorkspaceType | null> {
    if (!note.workspaceId) return null;
    const workspace = await ctx.loaders.workspace.load(note.workspaceId);
    if (!workspace) return null;
    const { authorizer } = viewerOf(ctx);
    return (await authorizer.can(WorkspaceAction.get, workspaceResource(workspace))) ? workspace : null;
  }

  @FieldResolver(() => NotePermissionsType, { description: "What the caller may do with this note, from the same decisions that enforce it." })
  async viewerCan(@Root() note: Note, @Ctx() ctx: RequestContext): Promise<NotePermissionsType> {
    const { authorizer } = viewerOf(ctx);
    const resource = noteResource(note);
    const [get, put, del] = await Promise.all(NoteViewerCan.map((action) => authorizer.can(action, resource)));
    return { get: get!, put: put!, delete: del! };
  }
}
