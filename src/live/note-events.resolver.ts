import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import { changesAccess } from "../authz/changes";
import { requireCaller } from "../authz/context";
import { optionalId } from "../common/validation";
import type { RequestContext } from "../graphql/context";
import type { NoteEventDelivery } from "./note-event-hub";
import { NoteEventType } from "./note-events.types";

/** Replayed changes are read a page at a time. */
const REPLAY_PAGE = 200;

/**
 * The stream of a subscription. Each page of a replay is decided with new decisions and
 * loaders, and each event is resolved with new ones too (graphql/schema.ts): a field that
 * decides for itself (`note.viewerCan`, `note.workspace`) is asked at that event, never
 * answered from an earlier one.
 */
async function eventsOf(ctx: RequestContext, workspaceId: string | null, after: string | null): Promise<AsyncIterableIterator<NoteEventDelivery>> {
  const { principal } = requireCaller(ctx);
  const { changes } = ctx.services;
  // A foreign or altered cursor, or one older than the retention, is refused when subscribing.
  const position = after === null ? undefined : await changes.retained(changes.positionOf(after, principal.userId));
  const stream = ctx.noteEvents!.stream({
    userId: principal.userId,
    workspaceId,
    after: position,
    replay: async (from) => {
      ctx.renewDecisions?.();
      try {
        return await changes.read(from, REPLAY_PAGE, workspaceId, await changesAccess(ctx));
      } finally {
        ctx.renewDecisions?.();
      }
    },
  });
  // Nothing decided while subscribing is kept while the subscription waits (its memory).
  ctx.renewDecisions?.();
  return stream;
}

/** Thin, like every resolver: the subscribe-time rule and the per-event decisions are authz's. */
@Resolver()
export class NoteEventsResolver {
  @Subscription(() => NoteEventType, {
    description:
      "Changes to notes the caller may read, as they are committed (see subscriptions.graphql).\n" +
      "With `after`: first what was missed since that cursor, then live, as noteChanges decides it.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { workspaceId?: string | null; after?: string | null }, RequestContext>) => {
      if (!context.noteEvents) throw new Error("subscriptions are served over WebSocket only");
      return eventsOf(context, optionalId(args.workspaceId, "workspaceId"), args.after ?? null);
    },
  })
  noteEvents(
    @Root() delivery: NoteEventDelivery,
    @Arg("workspaceId", () => ID, { nullable: true }) _workspaceId?: string | null,
    @Arg("after", () => String, { nullable: true }) _after?: string | null,
  ): NoteEventType {
    if ("error" in delivery) throw delivery.error;
    return delivery.event;
  }
}
