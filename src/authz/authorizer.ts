/**
 * The request-scoped decision point of the API. Shield rules, `viewerCan` fields and list
 * filters all ask `can(action, resource)`; every check requested while a tick of the event
 * loop runs is sent to the PDP as ONE `bulkCheck`, and each decision is memoized for the rest
 * of the request, so a page of 50 notes with `viewerCan { get put delete }` costs one round
 * trip, not 150. The batching is done here rather than by a DataLoader, which makes a promise
 * per key: a page's questions are mostly prefetched by its filter and then read settled by
 * `viewerCan`, and such a question needs no promise at all.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { Permit } from "permitio";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import { authzUnavailable, withExtensions, type AppError } from "../common/errors";
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
  /**
   * Development only (`x-authz-explain: 1`): why a refused decision went as it did, sent
   * with the refusal as `extensions.explanation`.
   */
  explain?: (decision: AuthzDecision) => Promise<unknown>;
}

/**
 * One decision of a request. Its id is what a client sees on a refusal (`extensions.decisionId`)
 * and what the log line of the decision carries, so an operator finds one from the other.
 */
export interface AuthzDecision {
  /** A random UUID (v4), made on first use: most decisions are never logged nor refused. */
  readonly id: string;
  /** The Permit user key the decision is about. */
  readonly user: string;
  readonly action: string;
  readonly resource: AuthzResource;
  readonly allow: boolean;
  /** Round trip of the bulk call that decided it; absent when no PDP was asked. */
  readonly pdpMs?: number;
  /**
   * Why no PDP was asked: `missing`, the row does not exist; `plan`, the row lies outside the
   * action's plan, so no rule of the policy can allow it (authz/notes.ts).
   */
  readonly reason?: "missing" | "plan";
}

/**
 * Ids are random UUIDs: 122 random bits cannot be guessed or enumerated, they reveal neither
 * time nor order (a ULID would, and would need a library), and they read like the request ids.
 */
export const newDecisionId = (): string => randomUUID();

/**
 * A denial raised after the rules allowed (a row deleted meanwhile, an unknown email, a field no
 * rule covers): no PDP decision stands behind it, so one is recorded as `missing`, with the
 * field's path. Answers its decision id.
 */
export function recordUnattributedDenial(logger: Logger, userId: string | undefined, code: string, path: readonly (string | number)[] | undefined): string {
  const decisionId = newDecisionId();
  logger.info({ decisionId, user: userId, allow: false, reason: "missing", path }, `authorization denied (${code})`);
  return decisionId;
}

class Decision implements AuthzDecision {
  private assignedId?: string;
  constructor(
    readonly user: string,
    readonly action: string,
    readonly resource: AuthzResource,
    readonly allow: boolean,
    readonly pdpMs?: number,
    readonly reason?: "missing" | "plan",
  ) {}

  get id(): string {
    return (this.assignedId ??= newDecisionId());
  }
}

/** `type:key`, or the type alone for a type-level check (creating a note or a workspace). */
export const resourceLabel = (resource: Pick<AuthzResource, "type" | "key">): string =>
  resource.key === undefined ? resource.type : `${resource.type}:${resource.key}`;

/** The log line of a decision, with the keys an operator searches by. */
function decisionLogRecord(d: AuthzDecision): Record<string, unknown> {
  return {
    decisionId: d.id,
    user: d.user,
    action: d.action,
    resource: resourceLabel(d.resource),
    attributes: d.resource.attributes,
    allow: d.allow,
    ...(d.pdpMs === undefined ? {} : { pdpMs: d.pdpMs }),
    ...(d.reason === undefined ? {} : { reason: d.reason }),
  };
}

/** A check for any user: a request's checks share one user, a live event's checks do not. */
export interface BulkCheck {
  user: string;
  action: string;
  resource: AuthzResource;
}

export interface BulkDecisionDeps {
  permit: Pick<Permit, "bulkCheck">;
  /** Permit tenant every resource is checked in. */
  tenant: string;
  logger: Logger;
  /** Counts the decisions by resource type, action and result. */
  metrics?: Pick<Metrics, "decisions">;
}

/**
 * The one way the API asks the PDP: every check in ONE `bulkCheck`, answered in order, each
 * decision counted and logged at debug level (with its id, made only when that level is on).
 * Rejects with AUTHZ_UNAVAILABLE when the PDP cannot decide; there is no default answer.
 */
export async function decideInBulk(deps: BulkDecisionDeps, checks: readonly BulkCheck[]): Promise<AuthzDecision[]> {
  if (checks.length === 0) return [];
  // The key alone: the policy reads no other user field from the request, and the SDK would
  // stringify anything more for a log line on every check, even when silenced. A request's
  // checks share one user, so they share its object too.
  let user = { key: checks[0]!.user };
  const queries = checks.map((c) => {
    if (c.user !== user.key) user = { key: c.user };
    // The SDK would fill a missing tenant with its own default; the configured one is sent always.
    const resource: { type: string; tenant: string; key?: string; attributes?: Record<string, unknown> } = { type: c.resource.type, tenant: deps.tenant };
    if (c.resource.key !== undefined) resource.key = c.resource.key;
    if (c.resource.attributes !== undefined) resource.attributes = c.resource.attributes;
    return { user, action: c.action, resource };
  });
  let answers: boolean[];
  const started = performance.now();
  try {
    answers = await deps.permit.bulkCheck(queries, undefined, { throwOnError: true });
  } catch (err) {
    throw toAuthzError(err, deps.logger);
  }
  if (!Array.isArray(answers) || answers.length !== checks.length) {
    // Decisions can only be matched to checks by position; a short or long answer would
    // attribute someone else's decision to a check. Refuse them all.
    deps.logger.error(
      { expected: checks.length, received: Array.isArray(answers) ? answers.length : typeof answers },
      "PDP bulk answer does not match the checks sent; failing closed",
    );
    throw authzUnavailable(new Error(`bulk check answered ${Array.isArray(answers) ? answers.length : "no"} decisions for ${checks.length} checks`));
  }
  const pdpMs = Math.round((performance.now() - started) * 10) / 10;
  const decisions = checks.map((c, i) => new Decision(c.user, c.action, c.resource, answers[i] === true, pdpMs));
  if (deps.metrics) countDecisions(deps.metrics, decisions);
  if (deps.logger.isLevelEnabled("debug")) {
    for (const d of decisions) deps.logger.debug(decisionLogRecord(d), "authorization decision");
  }
  return decisions;
}

/** One counter increment per kind of decision in the bulk: prom-client hashes the labels on every call. */
function countDecisions(metrics: Pick<Metrics, "decisions">, decisions: readonly AuthzDecision[]): void {
  const counts = new Map<string, { labels: { resource: string; action: string; result: "allow" | "deny" }; n: number }>();
  for (const d of decisions) {
    const result = d.allow ? "allow" : "deny";
    const kind = `${d.resource.type}\u0000${d.action}\u0000${result}`;
    const counted = counts.get(kind);
    if (counted) counted.n += 1;
    else counts.set(kind, { labels: { resource: d.resource.type, action: d.action, result }, n: 1 });
  }
  for (const { labels, n } of counts.values()) metrics.decisions.inc(labels, n);
}

export const DEFAULT_MAX_BATCH_SIZE = 1000;

const allowOf = (decision: AuthzDecision): boolean => decision.allow;
const ignore = (): undefined => undefined;

/**
 * Identity of a resource within one request, computed once per resource object (see `Asked`);
 * a question is this and an action (the user is fixed per Authorizer). Resources are built in
 * one place (resources.ts), always with their attributes in the same order, so plain JSON
 * identifies them; sorting keys on every check cost more than the rest of the key.
 */
export function resourceIdentity(resource: AuthzResource): string {
  return `${resource.type}\u0000${resource.key ?? ""}\u0000${resource.key === undefined ? "-" : "+"}${resource.attributes === undefined ? "" : JSON.stringify(resource.attributes)}`;
}

/** The questions of one bulk call, answered together. */
interface Batch {
  readonly questions: Question[];
  /** Resolves once every question has its decision; rejects when the call fails. */
  readonly answered: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function newBatch(): Batch {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const answered = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Its failure reaches whoever awaits a decision of it; a question only prefetched awaits nothing.
  answered.catch(ignore);
  return { questions: [], answered, resolve, reject };
}

/** One question of a request (an action on a resource), shared by equal resources built apart; sent as it is. */
class Question implements BulkCheck {
  /** Its bulk call failed: asked again by the next question, not replayed. */
  failed = false;
  /** The decision, once its bulk call has answered (or at once, for a plan's refusal). */
  settled?: AuthzDecision;
  private promised?: Promise<AuthzDecision>;

  constructor(
    /** resourceIdentity(resource): with the action, where `Authorizer.questions` holds it. */
    readonly identity: string,
    readonly user: string,
    readonly action: string,
    readonly resource: AuthzResource,
    private readonly answered: Promise<void>,
  ) {}

  /** Made on first use: most questions of a page are prefetched and then read settled, never awaited. */
  get decision(): Promise<AuthzDecision> {
    return (this.promised ??= this.answered.then(() => this.settled!));
  }
}

/** What one resource object has been asked in this request, by action; its identity made on first use. */
interface Asked {
  identity?: string;
  readonly byAction: Map<string, Question>;
}

export class Authorizer {
  private readonly permit: Pick<Permit, "bulkCheck">;
  private readonly user: AuthzUser;
  private readonly tenant: string;
  private readonly logger: Logger;
  private readonly maxBatchSize: number;
  private readonly metrics?: Pick<Metrics, "decisions">;
  private readonly explain?: (decision: AuthzDecision) => Promise<unknown>;
  private sent = 0;
  /**
   * The decisions asked of each resource object, by action: a page's filter and its `viewerCan`
   * ask several actions of the same note's descriptor (resources.ts), and a repeated question is
   * answered here without building its key again. Resources are built from stored entities and
   * never changed after.
   */
  private readonly asked = new WeakMap<AuthzResource, Asked>();
  /**
   * The same questions by resource identity, then action: equal resources built apart meet
   * here. Two levels, so that a question is found by the identity's string made (and hashed)
   * once per resource, not by a new string per action.
   */
  private readonly questions = new Map<string, Map<string, Question>>();
  /** The bulk calls the current tick is filling, sent when it ends; the last one takes new questions. */
  private tick: Batch[] = [];

  constructor(options: AuthorizerOptions) {
    this.metrics = options.metrics;
    this.permit = options.permit;
    this.user = { ...options.user };
    this.tenant = options.tenant;
    this.logger = options.logger;
    this.explain = options.explain;
    this.maxBatchSize = options.maxBatchSize ?? DEFAULT_MAX_BATCH_SIZE;
  }

  /**
   * Whether the user may perform `action` on `resource`. Resolves true/false from the PDP;
   * rejects with AUTHZ_UNAVAILABLE when the PDP cannot decide (never a default answer).
   */
  can(action: string, resource: AuthzResource): Promise<boolean> {
    return this.decide(action, resource).then(allowOf);
  }

  /** The decision itself, for a rule that may refuse on it (see `refuse`). Same batching and memo as `can`. */
  decide(action: string, resource: AuthzResource): Promise<AuthzDecision> {
    return this.question(action, resource).decision;
  }

  /**
   * The decision on a row that does not exist: a deny that asked no PDP. Refused like any
   * other (same error, same `decisionId`), so a caller cannot tell a missing row from one they
   * may not see; its log line says `reason: "missing"`.
   */
  missing(action: string, resource: Pick<AuthzResource, "type" | "key">): AuthzDecision {
    return new Decision(this.user.userId, action, { type: resource.type, key: resource.key }, false, undefined, "missing");
  }

  /**
   * Records, without asking the PDP, that `action` is refused on `resource` because the
   * resource lies outside the action's plan (list-plan.ts): a later `can` of this resource
   * object in this request answers false (an equal one built apart asks the PDP). Nothing
   * already asked is changed.
   */
  denyOutsidePlan(action: string, resource: AuthzResource): void {
    const { byAction } = this.askedOf(resource);
    if (byAction.has(action)) return;
    // Never sent nor shared, so it needs no key.
    const refused = new Question("", this.user.userId, action, resource, Promise.resolve());
    refused.settled = new Decision(this.user.userId, action, resource, false, undefined, "plan");
    byAction.set(action, refused);
  }

  /**
   * The decision already made in this request on `action` for this resource object (its bulk
   * call has answered, or its plan refused it), or undefined: lets a resolver answer without
   * a promise per field when the list filter decided everything beforehand.
   */
  settled(action: string, resource: AuthzResource): AuthzDecision | undefined {
    return this.asked.get(resource)?.byAction.get(action)?.settled;
  }

  /** The question of `action` on this resource object: asked before in this request, or queued for the tick's bulk call. */
  private question(action: string, resource: AuthzResource): Question {
    const asked = this.askedOf(resource);
    let question = asked.byAction.get(action);
    if (question === undefined || question.failed) {
      const identity = (asked.identity ??= resourceIdentity(resource));
      let byAction = this.questions.get(identity);
      if (byAction === undefined) this.questions.set(identity, (byAction = new Map()));
      question = byAction.get(action);
      if (question === undefined) {
        const batch = this.batchOfTick();
        question = new Question(identity, this.user.userId, action, resource, batch.answered);
        batch.questions.push(question);
        byAction.set(action, question);
      }
      asked.byAction.set(action, question);
    }
    return question;
  }

  /**
   * The bulk call a new question joins. Sent when the current tick's check phase comes
   * (setImmediate, not a microtask): rules reach `can` after different numbers of awaits
   * (loading the entity first, or not), and all of them have run by then.
   */
  private batchOfTick(): Batch {
    let batch = this.tick[this.tick.length - 1];
    if (batch === undefined) setImmediate(() => this.sendTick());
    if (batch === undefined || batch.questions.length >= this.maxBatchSize) this.tick.push((batch = newBatch()));
    return batch;
  }

  private sendTick(): void {
    const batches = this.tick;
    this.tick = [];
    for (const batch of batches) void this.send(batch);
  }

  private askedOf(resource: AuthzResource): Asked {
    let asked = this.asked.get(resource);
    if (!asked) this.asked.set(resource, (asked = { byAction: new Map() }));
    return asked;
  }

  /**
   * The one way a denial reaches a client: logs the decision at info level and answers the
   * error carrying its `decisionId` (and, in development when asked, its explanation).
   */
  async refuse(decision: AuthzDecision, error: AppError): Promise<AppError> {
    this.logger.info(decisionLogRecord(decision), `authorization denied (${error.code})`);
    const extensions: Record<string, unknown> = { decisionId: decision.id };
    if (this.explain) {
      extensions.explanation = await this.explain(decision).catch((err: unknown) => {
        this.logger.warn({ err, decisionId: decision.id }, "explanation failed");
        return { error: "The explanation could not be computed." };
      });
    }
    return withExtensions(error, extensions);
  }

  /**
   * Starts checks whose answers a later `can` in this request will want, so they join the
   * current tick's bulk call. Nothing is awaited here: a failure surfaces (as AUTHZ_UNAVAILABLE)
   * to whoever asks for that decision, never as a default answer.
   */
  prefetch(actions: Iterable<string>, resource: AuthzResource): void {
    for (const action of actions) this.question(action, resource);
  }

  /** Checks sent to the PDP so far in this request (memoized ones are not sent again). */
  get checksSent(): number {
    return this.sent;
  }

  private async send(batch: Batch): Promise<void> {
    const { questions } = batch;
    this.sent += questions.length;
    let decisions: AuthzDecision[];
    try {
      decisions = await decideInBulk({ permit: this.permit, tenant: this.tenant, logger: this.logger, metrics: this.metrics }, questions);
    } catch (err) {
      // Every question of the call fails, and is forgotten before anyone sees the failure, so
      // a later one in the same request asks again instead of replaying it.
      for (const q of questions) {
        q.failed = true;
        this.questions.get(q.identity)?.delete(q.action);
      }
      batch.reject(err);
      return;
    }
    questions.forEach((q, i) => (q.settled = decisions[i]));
    batch.resolve();
  }
}
