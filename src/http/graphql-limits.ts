/**
 * Limits on what one operation may ask for: nesting depth (a validation rule) and cost
 * (an Apollo plugin, since the cost of `notes(first:)` depends on the variables).
 */
import type { ApolloServerPlugin } from "@apollo/server";
import { GraphQLError, type GraphQLSchema } from "graphql";
import depthLimit from "graphql-depth-limit";
import { getComplexity, simpleEstimator, type ComplexityEstimator } from "graphql-query-complexity";
import { ErrorCode } from "../common/errors";

export { depthLimit };

/** A list field costs its children times the page size it asks for. */
const pageSizeEstimator: ComplexityEstimator = ({ args, childComplexity }) =>
  typeof args.first === "number" ? 1 + childComplexity * Math.max(1, args.first) : undefined;

/**
 * `onCost` receives the cost of every operation that resolved (the rate limit charges it),
 * including one refused for being too costly.
 */
export function complexityLimitPlugin<C extends object>(
  schema: GraphQLSchema,
  maximum: number,
  onCost?: (cost: number, contextValue: C) => void,
): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ request, document, contextValue }) {
          let cost: number;
          try {
            cost = getComplexity({
              schema,
              query: document,
              operationName: request.operationName ?? undefined,
              variables: request.variables ?? {},
              estimators: [pageSizeEstimator, simpleEstimator({ defaultComplexity: 1 })],
            });
          } catch {
            // Variables that do not coerce: execution reports them as BAD_USER_INPUT, and runs nothing.
            return;
          }
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
