/**
 * The context builder: from an HTTP request to the `RequestContext` the resolvers receive.
 *
 * No token → anonymous (every operation then answers UNAUTHENTICATED). A token that does not
 * verify → HTTP 401. A verified caller is recorded and synced to the PDP on first sight; a sync
 * that cannot reach the PDP fails the request with AUTHZ_UNAVAILABLE (HTTP 503).
 */
import type { FastifyRequest } from "fastify";
import { extractSessionToken } from "../auth/extract-token";
import type { Principal } from "../auth/principal";
import type { SessionVerifier, VerifyOptions } from "../auth/session-verifier";
import { Authorizer, type AuthzDecision } from "../authz/authorizer";
import { AppError, ErrorCode, databaseUnavailable, isAppError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { DecisionClient } from "../permit/breaker";
import type { RequestContext, Services } from "../graphql/context";
import { createLoaders, type Loaders } from "../graphql/loaders";
import type { ListPlanner } from "../authz/list-plan";
import { tenantRolesOf } from "../authz/roles";
import type { FirstSight } from "../users/first-sight";

export interface ContextDeps {
  /** Read per request: with the embedded issuer it exists only once the port is known. */
  verifier: () => SessionVerifier;
  firstSight: Pick<FirstSight, "ensure">;
  /** The SDK's decision calls, through the PDP circuit breaker. */
  permit: DecisionClient;
  listPlanner: ListPlanner;
  services: Services;
  tenant: string;
  logger: Logger;
  metrics?: Pick<Metrics, "decisions">;
  /**
   * Outside production (Config#authzExplainHeader): explains a refusal for a request that
   * asks with `x-authz-explain: 1`.
   */
  explainDenials?: (userId: string, decision: AuthzDecision) => Promise<unknown>;
  /**
   * Evidence that Permit lost the caller (the PDP lists no tenant role): checks and syncs them
   * again, answering true when it did (permit/user-sync.ts#resyncIfMissing).
   */
  resyncIfMissing?: (principal: Principal) => Promise<boolean>;
}

/** The request header that asks for explanations of denials (development only). */
export const EXPLAIN_HEADER = "x-authz-explain";

export interface ContextBuilder {
  (request: FastifyRequest): Promise<RequestContext>;
  /** The request's verified caller (null without a token); computed once per request, shared with the context. */
  principalOf(request: FastifyRequest): Promise<Principal | null>;
  /**
   * The one way from a session token to a caller, for HTTP and WebSocket alike: verified,
   * then recorded and synced on first sight. Rejects with the verifier's or first sight's error.
   */
  principalFromToken(token: string, options?: VerifyOptions): Promise<Principal>;
  /**
   * The context of a long-lived operation (a subscription) for an already verified caller;
   * `renewDecisions` starts a new Authorizer and new loaders (before each event).
   */
  forPrincipal(principal: Principal, logger: Logger): RequestContext;
}

export function createContextBuilder(deps: ContextDeps): ContextBuilder {
  const principals = new WeakMap<FastifyRequest, Promise<Principal | null>>();
  const principalOf = (request: FastifyRequest) => {
    let principal = principals.get(request);
    if (!principal) {
      principal = authenticate(request, deps);
      principals.set(request, principal);
    }
    return principal;
  };
  const contextFor = (principal: Principal | null, logger: Logger, explain?: (decision: AuthzDecision) => Promise<unknown>): RequestContext & { renew(): void } => {
    // Made on first use and dropped by `renew`: a subscription holds them only while an event
    // is being resolved, so an idle one costs next to nothing, and none is reused from an earlier event.
    let authorizer: Authorizer | null | undefined;
    let loaders: Loaders | undefined;
    return {
      principal,
      get authorizer() {
        return (authorizer ??= principal
          ? new Authorizer({ permit: deps.permit, user: { userId: principal.userId }, tenant: deps.tenant, logger, metrics: deps.metrics, explain })
          : null);
      },
      get loaders() {
        return (loaders ??= createLoaders(deps.services));
      },
      listPlanner: deps.listPlanner,
      services: deps.services,
      tenantRoles: async () => {
        const roles = await tenantRolesOf(deps.permit, principal!.userId, deps.tenant, logger);
        if (roles.length > 0 || !deps.resyncIfMissing || !(await deps.resyncIfMissing(principal!))) return roles;
        return tenantRolesOf(deps.permit, principal!.userId, deps.tenant, logger);
      },
      logger,
      renew() {
        authorizer = undefined;
        loaders = undefined;
      },
    };
  };
  const build = async (request: FastifyRequest): Promise<RequestContext> => {
    const principal = await principalOf(request);
    const explainDenials = deps.explainDenials;
    const explain =
      principal && explainDenials && request.headers[EXPLAIN_HEADER] === "1"
        ? (decision: AuthzDecision) => explainDenials(principal.userId, decision)
        : undefined;
    // The request's child logger: every line a resolver or the Authorizer writes carries `reqId`.
    return contextFor(principal, request.log as unknown as Logger, explain);
  };
  const forPrincipal = (principal: Principal, logger: Logger): RequestContext => {
    const context = contextFor(principal, logger);
    context.renewDecisions = context.renew;
    return context;
  };
  return Object.assign(build, { principalOf, principalFromToken: (token: string, options?: VerifyOptions) => principalFromToken(token, deps, options), forPrincipal });
}

async function authenticate(request: FastifyRequest, deps: ContextDeps): Promise<Principal | null> {
  try {
    const token = extractSessionToken({ authorization: request.headers.authorization, cookie: request.headers.cookie });
    if (!token) return null;
    return await principalFromToken(token, deps);
  } catch (error) {
    if (isAppError(error)) {
      const status = error.code === ErrorCode.UNAUTHENTICATED ? 401 : 503;
      throw new AppError(error.code, error.message, { ...error.extensions, http: { status } });
    }
    if (isDatabaseUnavailable(error)) throw databaseUnavailable(error);
    throw error;
  }
}

async function principalFromToken(token: string, deps: ContextDeps, options?: VerifyOptions): Promise<Principal> {
  const principal = await deps.verifier().verify(token, options);
  await deps.firstSight.ensure(principal);
  return principal;
}
