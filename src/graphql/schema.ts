/**
 * Schema composition: the code-first schema from the feature resolvers, and the executable
 * schema the server runs, with every field behind its authorization rule (authz/rule-map.ts).
 * `schema/schema.graphql` is printed from the former (`npm run schema:emit`).
 */
import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { DateTimeResolver } from "graphql-scalars";
import { buildSchema, type PubSub } from "type-graphql";
import { createShield } from "../authz/rule-map";
import { mapAsyncIterator } from "../common/map-async-iterator";
import type { RequestContext } from "./context";
import { NoteChangesResolver } from "../changes/note-changes.resolver";
import { NoteEventsResolver } from "../live/note-events.resolver";
import { NoteResolver } from "../notes/note.resolver";
import { UserFieldsResolver, UserResolver } from "../users/user.resolver";
import { WorkspaceMemberResolver, WorkspaceResolver } from "../workspaces/workspace.resolver";

/** Subscriptions bring their own `subscribe` stream; type-graphql's topics are not used. */
const noTopics: PubSub = {
  publish: () => {
    throw new Error("subscriptions use their own streams, not type-graphql topics");
  },
  subscribe: () => {
    throw new Error("subscriptions use their own streams, not type-graphql topics");
  },
};

export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [UserResolver, UserFieldsResolver, NoteResolver, WorkspaceResolver, WorkspaceMemberResolver, NoteChangesResolver, NoteEventsResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    pubSub: noTopics,
    // Input rules live in the services (common/validation.ts), one place for each rule.
    validate: false,
  });
}

/** The schema as served: unknown fields are denied (shield's fallback rule), subscriptions when subscribing. */
export async function buildExecutableSchema(): Promise<GraphQLSchema> {
  return applyMiddleware(resolveSubscriptionsInStream(await buildApiSchema()), createShield());
}

/**
 * graphql-middleware wraps a field's `resolve` whenever it has one, and only otherwise its
 * `subscribe`; a subscription's rule must run when subscribing, not at each event (where it
 * would cost a PDP call per subscriber). So each subscription field's per-event `resolve` is
 * moved into its stream (each event becomes `{ [field]: resolved }`, which the default
 * resolver reads), leaving `subscribe` as the field's one function for the shield to wrap.
 */
function resolveSubscriptionsInStream(schema: GraphQLSchema): GraphQLSchema {
  // The schema was just built for this server alone, so its fields are adjusted in place.
  for (const field of Object.values(schema.getSubscriptionType()?.getFields() ?? {})) {
    const { resolve, subscribe, name } = field;
    if (!resolve || !subscribe) continue;
    field.resolve = undefined;
    field.subscribe = async (source, args, context, info) => {
      const stream: unknown = await subscribe(source, args, context, info);
      if (!isAsyncIterable(stream)) return stream;
      return mapAsyncIterator(stream[Symbol.asyncIterator](), async (event) => {
        // Each event is resolved with new decisions and loaders, none reused from an earlier one.
        (context as RequestContext).renewDecisions?.();
        try {
          return { [name]: await resolve(event, args, context, info) };
        } catch (error) {
          // The default resolver turns a returned Error into this event's field error.
          return { [name]: error instanceof Error ? error : new Error(String(error)) };
        }
      });
    };
  }
  return schema;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<unknown> =>
  typeof value === "object" && value !== null && Symbol.asyncIterator in value;
