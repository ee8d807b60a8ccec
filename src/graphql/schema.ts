/**
 * Schema composition: the code-first schema from the feature resolvers, and the executable
 * schema the server runs, with every field behind its authorization rule (authz/rule-map.ts).
 * `schema/schema.graphql` is printed from the former (`npm run schema:emit`).
 */
import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { applyMiddleware } from "graphql-middleware";
import { DateTimeResolver } from "graphql-scalars";
import { buildSchema } from "type-graphql";
import { createShield } from "../authz/rule-map";
import { NoteResolver } from "../notes/note.resolver";
import { UserResolver } from "../users/user.resolver";
import { WorkspaceMemberResolver, WorkspaceResolver } from "../workspaces/workspace.resolver";

export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [UserResolver, NoteResolver, WorkspaceResolver, WorkspaceMemberResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Input rules live in the services (common/validation.ts), one place for each rule.
    validate: false,
  });
}

/** The schema as served: unknown fields are denied (shield's fallback rule). */
export async function buildExecutableSchema(): Promise<GraphQLSchema> {
  return applyMiddleware(await buildApiSchema(), createShield());
}
