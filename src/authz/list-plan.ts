/**
 * List plans: before a `notes` page is scanned, which rows the caller *may* be able to read,
 * computed from the live policy by the local PDP package's planner (`planAccess`) and the
 * caller's own role assignments. The plan only selects candidates: every row it lets through
 * is still checked by the PDP in the page's one bulk call, so a stale or wrong plan can never
 * show a row the caller may not read. It can only hide one for a while: a grant made in
 * Permit (a new role permission, a hand-made role assignment) shows in lists once the cached
 * policy or assignments expire (`LIST_PLAN_TTL_MS`). Workspace memberships are read from the
 * database on every page, so sharing shows at once.
 *
 * When the policy cannot be read, the plan widens to every row (the scan of old): listing
 * stays correct, only slower, and the PDP's checks still decide.
 */
import { planAccess, type PlanPolicy } from "@notes/local-pdp";
import type { Permit } from "permitio";
import type { Logger } from "../common/logger";
import type { PdpBreaker } from "../permit/breaker";
import type { NoteCandidates } from "../notes/note.repository";
import { readPlanPolicy, readUserAssignments, type UserAssignments } from "../permit/policy-reader";
import { NoteAction, Resource } from "./policy";

export interface ListPlannerOptions {
  permit: Pick<Permit, "api">;
  tenant: string;
  /** How long the policy and a user's assignments are reused; 0 reads them for every page. */
  ttlMs: number;
  /** How long a page waits for those reads before it scans every note instead (the decision timeout). */
  timeoutMs: number;
  logger: Logger;
  /** The PDP circuit breaker: while it is not closed the reads are not attempted (the plan widens). */
  breaker?: Pick<PdpBreaker, "run">;
}

interface Cached<T> {
  value: Promise<T>;
  expiresAt: number;
}

/** Users whose assignments are kept at once; the least recently planned go first. */
const USERS_MAX = 10_000;

export class ListPlanner {
  private policy: Cached<PlanPolicy> | null = null;
  private readonly users = new Map<string, Cached<UserAssignments>>();

  constructor(private readonly options: ListPlannerOptions) {}

  /**
   * The notes on which this caller may be allowed `action` (by default `get`: the candidates of
   * `notes` pages). Never narrower than the policy: a note outside it is one the PDP would refuse.
   */
  async notes(userId: string, action: string = NoteAction.get): Promise<NoteCandidates> {
    let policy: PlanPolicy;
    let user: UserAssignments;
    try {
      [policy, user] = await Promise.all([this.currentPolicy(), this.assignmentsOf(userId)]);
    } catch (error) {
      this.options.logger.warn({ err: error }, "list plan unavailable; scanning every note");
      return { kind: "all" };
    }
    const plan = planAccess(policy, { key: userId, roles: user.tenantRoles }, Resource.notes, action);
    if (plan.kind === "always") return { kind: "all" };
    if (plan.kind === "never") return { kind: "none" };
    return { kind: "where", condition: plan.condition, userId, instanceRoles: user.instanceRoles };
  }

  /** Forgets everything cached (after the policy was applied from this process). */
  invalidate(): void {
    this.policy = null;
    this.users.clear();
  }

  private currentPolicy(): Promise<PlanPolicy> {
    if (this.policy && this.policy.expiresAt > Date.now()) return this.policy.value;
    const entry = this.cache(() => this.guarded("policy_read", () => readPlanPolicy(this.options.permit)), () => (this.policy = null));
    this.policy = entry;
    return entry.value;
  }

  private assignmentsOf(userId: string): Promise<UserAssignments> {
    const hit = this.users.get(userId);
    if (hit && hit.expiresAt > Date.now()) {
      // Re-inserted: the Map's order is then least recently used first.
      this.users.delete(userId);
      this.users.set(userId, hit);
      return hit.value;
    }
    const entry = this.cache(
      () => this.guarded("assignments_read", () => readUserAssignments(this.options.permit, userId, this.options.tenant)),
      () => this.users.get(userId) === entry && this.users.delete(userId),
    );
    this.users.delete(userId);
    this.users.set(userId, entry);
    if (this.users.size > USERS_MAX) this.users.delete(this.users.keys().next().value!);
    return entry.value;
  }

  private guarded<T>(endpoint: "policy_read" | "assignments_read", read: () => Promise<T>): Promise<T> {
    const { breaker } = this.options;
    return breaker ? breaker.run(endpoint, read, { trips: false }) : read();
  }

  /** A read shared by concurrent callers, bounded by the timeout; a failed read is not kept. */
  private cache<T>(read: () => Promise<T>, forget: () => void): Cached<T> {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`reading the policy took longer than ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
    });
    const value = Promise.race([read(), timedOut]).finally(() => clearTimeout(timer));
    value.catch(forget);
    return { value, expiresAt: Date.now() + this.options.ttlMs };
  }
}
