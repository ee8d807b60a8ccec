/**
 * Limits on what one operation may ask for: nesting depth (a validation rule) and cost
 * (an Apollo plugin, since the cost of `notes(first:)` depends on the variables).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type DocumentNode, type GraphQLSchema } from "graphql";
import depthLimit from "graphql-depth-limit";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";
import { ErrorCode } from "../common/errors";

export { depthLimit };

/** A list field costs its children times the page size it asks for. */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity }) =>
  typeof args.first === "number" ? 1 + childComplexity * Math.max(1, args.first) : undefined;

/** How many (operation, variables) costs each document remembers, and for variables of what size at most (a note's body is not kept). */
const COSTS_PER_DOCUMENT = 256;
const COST_KEY_MAX = 512;

/**
 * `onCost` receives the cost of every operation that resolved (the rate limit charges it),
 * including one refused for being too costly.
 */
export function complexityLimitPlugin<C extends object>(
  schema: GraphQLSchema,
  maximum: number,
  onCost?: (cost: number, contextValue: C) => void,
): ApolloServerPlugin<C> {
  // Apollo hands every request of one query text the same parsed document, and a cost depends
  // only on it, the operation and the variables: it is computed once per such triple.
  const costs = new WeakMap<DocumentNode, Map<string, number | null>>();
  const costOf = (document: DocumentNode, operationName: string | undefined, variables: Record<string, unknown>): number | null => {
    let known = costs.get(document);
    if (!known) costs.set(document, (known = new Map()));
    const key = `${operationName ?? ""}\u0000${JSON.stringify(variables)}`;
    let cost = known.get(key);
    if (cost === undefined) {
      try {
        cost = getComplexity({ schema, query: document, operationName, variables, estimators: [pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })] });
      } catch {
        // Variables that do not coerce: execution reports them as BAD_USER_INPUT, and runs nothing.
        cost = null;
      }
      // Variables such as ids vary without bound: each document keeps its most recent costs.
      if (key.length > COST_KEY_MAX) return cost;
      if (known.size >= COSTS_PER_DOCUMENT) known.delete(known.keys().next().value!);
      known.set(key, cost);
    }
    return cost;
  };
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, contextValue }) {
          const cost = costOf(document, request.operationName ?? undefined, request.variables ?? {});
          if (cost === null) return;
          onCost?.(cost, contextValue);
          if (cost > maximum) {
            throw new GraphQLError(`The operation is too costly (${cost} > ${maximum}); ask for fewer items or fields.`, {
              extensions: { code: ErrorCode.BAD_USER_INPUT, cost, maximum, http: { status: 400 } },
            });
          }
        },
      };
    },
  };
}
