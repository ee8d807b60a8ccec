/**
 * The per-request context: who is calling (verified Hanko session), the request's loaders and
 * its Authorizer (checks of one tick batched into one PDP call, decisions memoized).
 */
import type { Principal } from "./auth/principal";
import type { Authorizer } from "./authz/authorizer";
import { unauthenticated } from "./errors";
import type { Loaders } from "./graphql/loaders";
import type { Services } from "./graphql/services";
import type { Logger } from "./logger";

export interface RequestContext {
  principal: Principal | null;
  /** Present exactly when `principal` is. */
  authorizer: Authorizer | null;
  loaders: Loaders;
  services: Services;
  /** The caller's tenant roles, read from the PDP on demand. */
  tenantRoles(): Promise<string[]>;
  logger: Logger;
}

/** The caller, or UNAUTHENTICATED. */
export function viewerOf(ctx: RequestContext): { principal: Principal; authorizer: Authorizer } {
  if (!ctx.principal || !ctx.authorizer) throw unauthenticated();
  return { principal: ctx.principal, authorizer: ctx.authorizer };
}
