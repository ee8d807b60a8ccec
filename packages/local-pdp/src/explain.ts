/**
 * The engine's condition semantics for callers outside the server (the API's explanations):
 * whether a condition set's conditions hold on an attribute bag, parsed and evaluated exactly
 * as a check would. `fk_resource_type` lookups find nothing here (no store).
 */
import { compileConditions, evaluate } from "./conditions";
import type { JsonObject } from "./model";

export function conditionsHold(conditions: unknown, bag: { user?: JsonObject; resource?: JsonObject; tenant?: JsonObject; context?: JsonObject }): boolean {
  const cond = compileConditions(conditions, ["conditions"]);
  return evaluate(cond, {
    bag: { user: bag.user ?? {}, resource: bag.resource ?? {}, tenant: bag.tenant ?? {}, context: bag.context ?? {} },
    instanceAttributes: () => undefined,
  });
}
