import { Arg, Ctx, FieldResolver, ID, Info, Int, Mutation, Query, Resolver, Root } from "type-graphql";
import type { GraphQLResolveInfo } from "graphql";
import { requireCaller } from "../authz/context";
import { notePermissions, notesAccess, visibleWorkspace } from "../authz/notes";
import { notFound } from "../common/errors";
import { requestedSubfields } from "../common/selection";
import { optionalId, requireId } from "../common/validation";
import { settle, type RequestContext } from "../graphql/context";
import { UserType } from "../users/user.types";
import { WorkspaceType } from "../workspaces/workspace.types";
import type { Note } from "./note.entity";
import type { ListedNote } from "./note.repository";
import type { NotePage } from "./note.service";
import { CreateNoteInput, NoteConnectionType, NotePermissionsType, NoteType, UpdateNoteInput } from "./note.types";

/**
 * Thin resolvers: the shield rules (authz/rules.ts) decide before these run, and what is
 * decided while they run (the list filter, `viewerCan`, `workspace`) is asked of authz/notes.ts.
 * Nothing here decides who may do what.
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
    const { principal } = requireCaller(ctx);
    const withBodies = requestedSubfields(info, ["edges", "node"]).includes("body");
    return ctx.services.notes.page(
      { first, after, workspaceId: optionalId(workspaceId, "workspaceId"), viewer: principal.userId, withBodies },
      await notesAccess(ctx, info),
    );
  }

  @Mutation(() => NoteType, { description: "Create a note owned by the caller, optionally inside a workspace (needs add_note there)." })
  async createNote(@Arg("input", () => CreateNoteInput) input: CreateNoteInput, @Ctx() ctx: RequestContext): Promise<Note> {
    const { principal } = requireCaller(ctx);
    const workspaceId = optionalId(input.workspaceId, "workspaceId");
    return settle(ctx, await ctx.services.notes.create(principal.userId, { ...input, workspaceId }));
  }

  @Mutation(() => NoteType, { description: "Update title/body. With expectedVersion, CONFLICT when the note changed meanwhile." })
  updateNote(
    @Arg("id", () => ID) id: string,
    @Arg("input", () => UpdateNoteInput) input: UpdateNoteInput,
    @Ctx() ctx: RequestContext,
  ): Promise<Note> {
    requireCaller(ctx);
    return ctx.services.notes.update(requireId(id, "id"), input);
  }

  @Mutation(() => ID, { description: "Delete a note; returns its id." })
  async deleteNote(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<string> {
    requireCaller(ctx);
    return settle(ctx, await ctx.services.notes.delete(requireId(id, "id")));
  }

  @FieldResolver(() => UserType)
  owner(@Root() note: ListedNote): UserType {
    return { id: note.ownerId };
  }

  @FieldResolver(() => WorkspaceType, {
    nullable: true,
    description: "The workspace the note belongs to; null for a personal note or one whose workspace the caller may not read.",
  })
  async workspace(@Root() note: ListedNote, @Ctx() ctx: RequestContext): Promise<WorkspaceType | null> {
    return note.workspaceId ? visibleWorkspace(ctx, await ctx.loaders.workspace.load(note.workspaceId)) : null;
  }

  @FieldResolver(() => NotePermissionsType, { description: "What the caller may do with this note, from the same decisions that enforce it." })
  viewerCan(@Root() note: ListedNote, @Ctx() ctx: RequestContext): NotePermissionsType | Promise<NotePermissionsType> {
    return notePermissions(ctx, note);
  }
}
