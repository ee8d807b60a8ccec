import { Arg, Ctx, ID, Int, Query, Resolver } from "type-graphql";
import { changesAccess } from "../authz/changes";
import { requireCaller } from "../authz/context";
import { optionalId } from "../common/validation";
import type { RequestContext } from "../graphql/context";
import type { FeedPage } from "./change-feed";
import { NoteChangePageType } from "./note-changes.types";

/** Thin, like every resolver: what each caller may see is decided in authz/changes.ts. */
@Resolver()
export class NoteChangesResolver {
  @Query(() => String, { description: "The feed's current position: take it before a full fetch, then read noteChanges(after: it)." })
  noteChangesHead(@Ctx() ctx: RequestContext): Promise<string> {
    const { principal } = requireCaller(ctx);
    return ctx.services.changes.head(principal.userId);
  }

  @Query(() => NoteChangePageType, {
    description:
      "Changes the caller may see after `after` (a cursor from noteChangesHead, a NoteChange or a\n" +
      "NoteEvent), oldest first, at most `first` (1-500, default 100). With workspaceId, only that\n" +
      "workspace (NOT_FOUND if the workspace is not readable).",
  })
  async noteChanges(
    @Arg("after", () => String) after: string,
    @Arg("first", () => Int, { nullable: true }) first: number | null | undefined,
    @Arg("workspaceId", () => ID, { nullable: true }) workspaceId: string | null | undefined,
    @Ctx() ctx: RequestContext,
  ): Promise<FeedPage> {
    return ctx.services.changes.page({ after, first: first ?? null, workspaceId: optionalId(workspaceId, "workspaceId") }, await changesAccess(ctx));
  }
}
