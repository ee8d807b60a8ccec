/**
 * The per-request context: who is calling (verified Hanko session), the request's loaders and
 * its Authorizer (checks of one tick batched into one PDP call, decisions memoized).
 */
import type { Principal } from "../auth/principal";
import type { Authorizer } from "../authz/authorizer";
import { unauthenticated } from "../common/errors";
import type { Loaders } from "./loaders";
import type { Services } from "../services";
import type { Logger } from "../common/logger";
import type { Written } from "../outbox/facts";

export interface RequestContext {
  principal: Principal | null;
  /** Present exactly when `principal` is. */
  authorizer: Authorizer | null;
  loaders: Loaders;
  services: Services;
  /** The caller's tenant roles, read from the PDP on demand. */
  tenantRoles(): Promise<string[]>;
  logger: Logger;
  /** Set when a mutation answered before the PDP acknowledged its facts (`extensions.factsPending`). */
  factsPending?: boolean;
}

/** The value of a write; remembers for the response when its facts are still pending. */
export function settle<T>(ctx: RequestContext, write: Written<T>): T {
  if (write.factsPending) ctx.factsPending = true;
  return write.value;
}

/** The caller, or UNAUTHENTICATED. */
export function viewerOf(ctx: RequestContext): { principal: Principal; authorizer: Authorizer } {
  if (!ctx.principal || !ctx.authorizer) throw unauthenticated();
  return { principal: ctx.principal, authorizer: ctx.authorizer };
}
