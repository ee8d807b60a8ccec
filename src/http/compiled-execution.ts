/**
 * Compiled execution: each operation document is compiled once by graphql-jit into a function
 * that resolves it, instead of being interpreted field by field on every request (graphql-js
 * builds arguments, paths and resolve infos for every field of every row). Apollo Server
 * parses, validates (depth, introspection), plans and formats as before; only the execution
 * step changes, through Apollo's executor interface (the one a gateway uses).
 *
 * One difference from graphql-js, and the rule it sets: a field without a resolver is read as a
 * plain property and its value is not awaited. Whatever a field must wait for is a resolver
 * (type-graphql's @FieldResolver or a resolver function), never a promise in a returned object.
 * Everything else (errors, null propagation, arguments, fragments, @skip/@include) answers as
 * graphql-js does: compiled-execution.test.ts compares both, and every API test runs through it.
 *
 * Compiled functions are kept per parsed document (Apollo hands every request of one query text
 * the same DocumentNode) and operation name, and go with the document when Apollo's document
 * cache drops it.
 */
import type { GatewayExecutionResult, GatewayGraphQLRequestContext, GatewayInterface } from "@apollo/server-gateway-interface";
import { getVariableValues } from "graphql/execution/values";
import type { DocumentNode, GraphQLSchema } from "graphql";
import { compileQuery, isCompiledQuery, type CompiledQuery } from "graphql-jit";

type Compiled = CompiledQuery | GatewayExecutionResult;

export function compiledExecution(schema: GraphQLSchema): GatewayInterface {
  const compiled = new WeakMap<DocumentNode, Map<string, Compiled>>();
  const compile = (document: DocumentNode, operationName: string | null): Compiled => {
    let byOperation = compiled.get(document);
    if (!byOperation) compiled.set(document, (byOperation = new Map()));
    let entry = byOperation.get(operationName ?? "");
    if (!entry) byOperation.set(operationName ?? "", (entry = compileQuery(schema, document, operationName ?? undefined)));
    return entry;
  };
  const execute = async (requestContext: GatewayGraphQLRequestContext): Promise<GatewayExecutionResult> => {
    const query = compile(requestContext.document, requestContext.operationName);
    // Not compilable (an operation that validation let through but execution refuses): its errors.
    if (!isCompiledQuery(query)) return query;
    // Variables are coerced by graphql-js itself, so a bad one is refused with graphql-js's own
    // error (the one Apollo classifies as BAD_USER_INPUT, with its variable's node).
    const variables = requestContext.operation.variableDefinitions ?? [];
    if (variables.length > 0) {
      const coerced = getVariableValues(schema, variables, requestContext.request.variables ?? {}, { maxErrors: 50 });
      if (coerced.errors) return { errors: coerced.errors };
    }
    return query.query(undefined, requestContext.context, requestContext.request.variables ?? {});
  };
  return {
    onSchemaLoadOrUpdate(callback) {
      callback({ apiSchema: schema, coreSupergraphSdl: "" });
      return () => undefined;
    },
    load: async () => ({ executor: execute }),
    stop: async () => undefined,
  };
}
