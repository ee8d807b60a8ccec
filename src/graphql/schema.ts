import "reflect-metadata";
import type { GraphQLSchema } from "graphql";
import { DateTimeResolver } from "graphql-scalars";
import { buildSchema } from "type-graphql";
import { NoteResolver } from "../notes/note.resolver";
import { UserResolver } from "../users/user.resolver";
import { WorkspaceMemberResolver, WorkspaceResolver } from "../workspaces/workspace.resolver";

/** The code-first schema; `schema/schema.graphql` is printed from it (`npm run schema:emit`). */
export function buildApiSchema(): Promise<GraphQLSchema> {
  return buildSchema({
    resolvers: [UserResolver, NoteResolver, WorkspaceResolver, WorkspaceMemberResolver],
    scalarsMap: [{ type: Date, scalar: DateTimeResolver }],
    // Input rules live in the services (validation.ts), one place for each rule.
    validate: false,
  });
}
