import { Arg, ID, Resolver, Root, Subscription, type SubscribeResolverData } from "type-graphql";
import { requireCaller } from "../authz/context";
import { mapAsyncIterator } from "../common/map-async-iterator";
import { optionalId } from "../common/validation";
import type { RequestContext } from "../graphql/context";
import type { NoteEventDelivery, NoteEventSource } from "./note-event-hub";
import { NoteEventType } from "./note-events.types";

/**
 * The stream of a subscription. Before each event is resolved, the subscription's context
 * starts new decisions and loaders: a field that decides for itself (`note.viewerCan`,
 * `note.workspace`) is asked at that event, never answered from an earlier one.
 */
function eventsOf(source: NoteEventSource, ctx: RequestContext, workspaceId: string | null): AsyncIterableIterator<NoteEventDelivery> {
  const { principal } = requireCaller(ctx);
  return mapAsyncIterator(source.stream({ userId: principal.userId, workspaceId }), (delivery) => {
    ctx.renewDecisions?.();
    return delivery;
  });
}

/** Thin, like every resolver: the subscribe-time rule and the per-event decisions are authz's. */
@Resolver()
export class NoteEventsResolver {
  @Subscription(() => NoteEventType, {
    description:
      "Changes to notes the caller may read, as they are committed. With workspaceId, only that\n" +
      "workspace's notes (NOT_FOUND if the workspace is not readable when subscribing). Each\n" +
      "event is delivered only if the caller may `get` the note at that moment; a DELETED\n" +
      "event goes to those who could read the note just before it was deleted.",
    subscribe: ({ args, context }: SubscribeResolverData<unknown, { workspaceId?: string | null }, RequestContext>) => {
      if (!context.noteEvents) throw new Error("subscriptions are served over WebSocket only");
      return eventsOf(context.noteEvents, context, optionalId(args.workspaceId, "workspaceId"));
    },
  })
  noteEvents(@Root() delivery: NoteEventDelivery, @Arg("workspaceId", () => ID, { nullable: true }) _workspaceId?: string | null): NoteEventType {
    if ("error" in delivery) throw delivery.error;
    return delivery.event;
  }
}
