/**
 * The request-scoped decision point of the API. Shield rules, `viewerCan` fields and list
 * filters all ask `can(action, resource)`; every check requested while a tick of the event
 * loop runs is sent to the PDP as ONE `bulkCheck`, and each decision is memoized for the rest
 * of the request, so a page of 50 notes with `viewerCan { get put delete }` costs one round
 * trip, not 150.
 */
import DataLoader from "dataloader";
import type { Permit } from "permitio";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import { authzUnavailable } from "../common/errors";
import { toAuthzError } from "../permit/client";

export interface AuthzUser {
  /** Hanko user id (JWT `sub`), which is the Permit user key. */
  userId: string;
}

export interface AuthzResource {
  type: string;
  /** Absent for type-level checks (e.g. `post` on notes). */
  key?: string;
  /** Read from the stored entity, never from client input. */
  attributes?: Record<string, unknown>;
}

export interface AuthorizerOptions {
  permit: Pick<Permit, "bulkCheck">;
  user: AuthzUser;
  /** Permit tenant every resource is checked in. */
  tenant: string;
  logger: Logger;
  /** Checks per `bulkCheck` call; larger ticks are split into several calls. */
  maxBatchSize?: number;
  /** Counts the decisions by resource type, action and result. */
  metrics?: Pick<Metrics, "decisions">;
}

interface Check {
  action: string;
  resource: AuthzResource;
}

export const DEFAULT_MAX_BATCH_SIZE = 1000;

/**
 * Identity of a check within one request (the user is fixed per Authorizer). Resources are
 * built in one place (resources.ts), always with their attributes in the same order, so plain
 * JSON identifies them; sorting keys on every check cost more than the rest of the key.
 */
export function checkCacheKey(action: string, resource: AuthzResource): string {
  return `${action}\u0000${resource.type}\u0000${resource.key ?? ""}\u0000${resource.key === undefined ? "-" : "+"}${resource.attributes === undefined ? "" : JSON.stringify(resource.attributes)}`;
}

export class Authorizer {
  private readonly permit: Pick<Permit, "bulkCheck">;
  private readonly user: AuthzUser;
  private readonly tenant: string;
  private readonly logger: Logger;
  private readonly loader: DataLoader<Check, boolean, string>;
  private readonly metrics?: Pick<Metrics, "decisions">;
  private sent = 0;

  constructor(options: AuthorizerOptions) {
    this.metrics = options.metrics;
    this.permit = options.permit;
    this.user = { ...options.user };
    this.tenant = options.tenant;
    this.logger = options.logger;
    this.loader = new DataLoader<Check, boolean, string>((checks) => this.decide(checks), {
      cache: true,
      cacheKeyFn: (c) => checkCacheKey(c.action, c.resource),
      maxBatchSize: options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE,
      // setImmediate rather than DataLoader's default (a nextTick after the current promise
      // jobs): rules reach `can` after different numbers of awaits (loading the entity first,
      // or not), and all of them have run by the time the check phase of the loop comes.
      batchScheduleFn: (dispatch) => setImmediate(dispatch),
    });
  }

  /**
   * Whether the user may perform `action` on `resource`. Resolves true/false from the PDP;
   * rejects with AUTHZ_UNAVAILABLE when the PDP cannot decide (never a default answer).
   */
  can(action: string, resource: AuthzResource): Promise<boolean> {
    return this.loader.load({ action, resource: { type: resource.type, key: resource.key, attributes: resource.attributes } });
  }

  /**
   * Starts checks whose answers a later `can` in this request will want, so they join the
   * current tick's bulk call. Nothing is awaited here: a failure surfaces (as AUTHZ_UNAVAILABLE)
   * to whoever asks for that decision, never as a default answer.
   */
  prefetch(actions: Iterable<string>, resource: AuthzResource): void {
    for (const action of actions) void this.can(action, resource).catch(() => undefined);
  }

  /** Checks sent to the PDP so far in this request (memoized ones are not sent again). */
  get checksSent(): number {
    return this.sent;
  }

  private async decide(checks: readonly Check[]): Promise<boolean[]> {
    this.sent += checks.length;
    // The key alone: the policy reads no other user field from the request, and the SDK would
    // stringify anything more for a log line on every check, even when silenced.
    const user = { key: this.user.userId };
    const queries = checks.map((c) => ({
      user,
      action: c.action,
      resource: {
        type: c.resource.type,
        // The SDK would fill a missing tenant with its own default; the configured one is sent always.
        tenant: this.tenant,
        ...(c.resource.key === undefined ? {} : { key: c.resource.key }),
        ...(c.resource.attributes === undefined ? {} : { attributes: c.resource.attributes }),
      },
    }));
    let answers: boolean[];
    try {
      answers = await this.permit.bulkCheck(queries, undefined, { throwOnError: true });
    } catch (err) {
      // DataLoader rejects every check of the batch with this error and forgets them, so a
      // later `can` in the same request asks again instead of replaying the failure.
      throw toAuthzError(err, this.logger);
    }
    if (!Array.isArray(answers) || answers.length !== checks.length) {
      // Decisions can only be matched to checks by position; a short or long answer would
      // attribute someone else's decision to a check. Refuse them all.
      this.logger.error(
        { expected: checks.length, received: Array.isArray(answers) ? answers.length : typeof answers },
        "PDP bulk answer does not match the checks sent; failing closed",
      );
      throw authzUnavailable(new Error(`bulk check answered ${Array.isArray(answers) ? answers.length : "no"} decisions for ${checks.length} checks`));
    }
    const decisions = answers.map((answer) => answer === true);
    if (this.metrics) {
      checks.forEach((c, i) => this.metrics!.decisions.inc({ resource: c.resource.type, action: c.action, result: decisions[i] ? "allow" : "deny" }));
    }
    return decisions;
  }
}
