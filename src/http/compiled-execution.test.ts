import type { GatewayGraphQLRequestContext } from "@apollo/server-gateway-interface";
import { makeExecutableSchema } from "@graphql-tools/schema";
import { execute, getOperationAST, parse, type ExecutionResult } from "graphql";
import { AppError, ErrorCode } from "../common/errors";
import { compiledExecution } from "./compiled-execution";

/**
 * Compiled execution must answer exactly what graphql-js answers: the same data, the same
 * errors (message, path, locations, extensions), the same null propagation.
 */
const schema = makeExecutableSchema({
  typeDefs: /* GraphQL */ `
    type Query {
      notes(first: Int!): [Note!]!
      note(id: ID!): Note
      required: Note!
      denied: String
      echo(text: String, count: Int = 2): [String!]
      viewer: Viewer
    }
    type Note {
      id: ID!
      title: String!
      brokenTitle: String!
      owner: User!
      tags: [String]
    }
    type User {
      id: ID!
      email: String
    }
    type Viewer {
      id: ID!
      roles: [String!]!
    }
  `,
  resolvers: {
    Query: {
      notes: async (_: unknown, { first }: { first: number }) => Array.from({ length: first }, (_, i) => ({ id: String(i), title: `note ${i}`, ownerId: `u${i % 3}` })),
      note: (_: unknown, { id }: { id: string }) => (id === "missing" ? null : { id, title: `note ${id}`, ownerId: "u1" }),
      required: () => null,
      denied: () => {
        throw new AppError(ErrorCode.FORBIDDEN, "You are not allowed to do this.", { decisionId: "d-1" });
      },
      echo: (_: unknown, { text, count }: { text?: string; count: number }) => Array.from({ length: count }, () => text ?? "none"),
      viewer: (_: unknown, __: unknown, context: { userId: string }) => ({ id: context.userId }),
    },
    Viewer: {
      roles: async () => ["user"],
    },
    Note: {
      owner: async (note: { ownerId: string }) => ({ id: note.ownerId, email: note.ownerId === "u2" ? null : `${note.ownerId}@example.com` }),
      brokenTitle: (note: { id: string }) => (note.id === "1" ? null : "fine"),
      tags: () => ["a", null],
    },
  },
});

async function both(query: string, variables: Record<string, unknown> = {}, operationName?: string): Promise<[ExecutionResult, ExecutionResult]> {
  const document = parse(query);
  const context = { userId: "u-caller" };
  const expected = await execute({ schema, document, variableValues: variables, contextValue: context, operationName });
  const { executor } = await compiledExecution(schema).load({ apollo: {} });
  const requestContext = {
    document,
    operationName: operationName ?? null,
    operation: getOperationAST(document, operationName)!,
    request: { query, variables, operationName },
    context,
  } as unknown as GatewayGraphQLRequestContext;
  const actual = await executor!(requestContext);
  return [JSON.parse(JSON.stringify(actual)) as ExecutionResult, JSON.parse(JSON.stringify(expected)) as ExecutionResult];
}

describe("compiled execution answers as graphql-js does", () => {
  it.each([
    ["a list page with nested objects, aliases and a fragment", `{ notes(first: 5) { id title author: owner { ...U } } } fragment U on User { id email }`],
    ["a missing note (null)", `{ note(id: "missing") { id } }`],
    ["an error thrown by a resolver, with its extensions", `{ denied note(id: "7") { id } }`],
    ["null in a non-null field, propagated to the nearest nullable parent", `{ notes(first: 3) { id brokenTitle } note(id: "1") { id brokenTitle } }`],
    ["null for a non-null root field", `{ required { id } }`],
    ["default argument values and nullable list items", `{ echo(text: "hi") notes(first: 1) { tags } }`],
    ["context, an async resolver below a sync one, and __typename", `{ viewer { id roles } __typename }`],
    ["@skip and @include on fields, inline fragments and fragment spreads", `query($yes: Boolean = true, $no: Boolean = false) { notes(first: 2) { id @skip(if: $yes) title @include(if: $yes) ... on Note @include(if: $no) { tags } ...O @skip(if: $no) } } fragment O on Note { owner { id email @include(if: $no) } }`],
    ["the same field selected twice with different subfields (merged)", `{ note(id: "3") { owner { id } owner { email } } }`],
  ])("%s", async (_name, query) => {
    const [actual, expected] = await both(query);
    expect(actual).toEqual(expected);
  });

  it("variables: the same answer with good ones", async () => {
    const [actual, expected] = await both(`query($n: Int!, $t: String) { notes(first: $n) { id } echo(text: $t, count: $n) }`, { n: 2, t: "x" });
    expect(actual).toEqual(expected);
    expect(actual.data).toEqual({ notes: [{ id: "0" }, { id: "1" }], echo: ["x", "x"] });
  });

  it("variables: graphql-js's own error for a wrongly typed or missing one", async () => {
    for (const variables of [{ n: "ten" }, {}]) {
      const [actual, expected] = await both(`query($n: Int!) { notes(first: $n) { id } }`, variables);
      expect(actual).toEqual(expected);
      expect(actual.errors?.[0]?.message).toMatch(/^Variable "\$n"/);
      expect(actual.data).toBeUndefined();
    }
  });

  it("runs the named operation of a document with several", async () => {
    const query = `query A { viewer { id } } query B { echo(count: 1) }`;
    const [actual, expected] = await both(query, {}, "B");
    expect(actual).toEqual(expected);
    expect(actual.data).toEqual({ echo: ["none"] });
  });
});
