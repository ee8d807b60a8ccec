/**
 * The PDP budget: a circuit breaker around every call on the decision path (bulk checks,
 * `/user-permissions`, the list planner's reads).
 *
 * closed ── N consecutive failures (timeouts included) ──► open ── cool-down ──► half-open
 *   ▲                                                        ▲                        │
 *   └──────────────── the one probe succeeds ────────────────┼──── the probe fails ───┘
 *
 * While open, calls are not sent: they fail at once with AUTHZ_UNAVAILABLE, so a request
 * answers in milliseconds instead of waiting for the PDP timeout. After the cool-down exactly
 * one call goes through as a probe (the others keep failing fast until it answers).
 *
 * Only failures that say "the PDP is unreachable or broken" count (`isPermitUnavailable`);
 * a 4xx answer is the PDP working. The list planner's reads go to Permit's REST API, which in
 * production is another service than the PDP sidecar: they are held back while the circuit
 * is not closed but never open it (`trips: false`), so an API outage alone cannot stop
 * decisions (the plan then widens, and the checks still decide). A newcomer's first sync
 * (a write to that API, `permit/user-sync.ts`) is refused while the circuit is open, but let
 * through while it is half-open: it comes before the request's decisions, and refusing it
 * would leave nobody to probe the PDP when every caller is new.
 */
import { authzUnavailable } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics, PdpEndpoint } from "../common/metrics";
import { describePermitError, isPermitUnavailable } from "./client";
import type { Permit } from "permitio";

export type CircuitState = "closed" | "open" | "half_open";

export interface BreakerOptions {
  /** Consecutive failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before a probe. */
  cooldownMs: number;
  logger: Logger;
  metrics?: Pick<Metrics, "pdpCalls" | "pdpErrors" | "circuitState">;
  now?: () => number;
}

const STATE_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };

export class PdpBreaker {
  private current: CircuitState = "closed";
  private failures = 0;
  private openedAt = 0;
  private probing = false;
  private readonly now: () => number;

  constructor(private readonly options: BreakerOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The state as a caller would find it now (an open circuit past its cool-down is half-open). */
  get state(): CircuitState {
    if (this.current === "open" && this.now() - this.openedAt >= this.options.cooldownMs) return "half_open";
    return this.current;
  }

  /**
   * Runs `call` unless the circuit refuses it. `trips: false`: the call is gated like the
   * others but neither its failure nor its success changes the state; `whileHalfOpen: "admit"`
   * lets such a call through while a probe is due or in flight (refused only while open).
   */
  async run<T>(endpoint: PdpEndpoint, call: () => Promise<T>, options: { trips?: boolean; whileHalfOpen?: "refuse" | "admit" } = {}): Promise<T> {
    const trips = options.trips ?? true;
    const probe = this.admit(trips, options.whileHalfOpen ?? "refuse");
    if (probe === null) {
      this.options.metrics?.pdpCalls.observe({ endpoint, outcome: "rejected" }, 0);
      this.options.metrics?.pdpErrors.inc({ endpoint, reason: "circuit_open" });
      throw authzUnavailable(new Error("the PDP circuit is open: not sent"));
    }
    const started = process.hrtime.bigint();
    const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await call();
      this.options.metrics?.pdpCalls.observe({ endpoint, outcome: "ok" }, seconds());
      if (trips) this.succeeded();
      return result;
    } catch (error) {
      this.options.metrics?.pdpCalls.observe({ endpoint, outcome: "error" }, seconds());
      this.options.metrics?.pdpErrors.inc({ endpoint, reason: reasonOf(error) });
      if (trips) {
        if (isPermitUnavailable(error)) this.failed();
        else this.succeeded(); // the PDP answered: it is up
      }
      throw error;
    } finally {
      if (probe) this.probing = false;
    }
  }

  /** null: refused; true: admitted as the half-open probe; false: admitted. */
  private admit(trips: boolean, whileHalfOpen: "refuse" | "admit"): boolean | null {
    if (this.current === "closed") return false;
    if (this.state !== "half_open") return null;
    if (!trips) return whileHalfOpen === "admit" ? false : null;
    if (this.probing) return null;
    this.probing = true;
    this.transition("half_open");
    return true;
  }

  private succeeded(): void {
    this.failures = 0;
    if (this.current !== "closed") this.transition("closed");
  }

  private failed(): void {
    this.failures += 1;
    if (this.current === "half_open" || (this.current === "closed" && this.failures >= this.options.failureThreshold)) {
      this.openedAt = this.now();
      this.transition("open");
    }
  }

  private transition(to: CircuitState): void {
    if (this.current === to) return;
    const from = this.current;
    this.current = to;
    this.options.metrics?.circuitState.set(STATE_VALUE[to]);
    const entry = { circuit: { from, to, failures: this.failures, cooldownMs: this.options.cooldownMs } };
    if (to === "open") this.options.logger.error(entry, "PDP circuit opened: decisions fail fast with AUTHZ_UNAVAILABLE");
    else if (to === "closed") this.options.logger.info(entry, "PDP circuit closed: the PDP answers again");
    else this.options.logger.info(entry, "PDP circuit half-open: probing the PDP");
  }
}

function reasonOf(error: unknown): string {
  const failure = describePermitError(error);
  if (/timeout|ECONNABORTED|ETIMEDOUT/i.test(`${failure.code ?? ""} ${failure.message}`)) return "timeout";
  if (failure.kind === "connection" && failure.status === undefined) return "connection";
  if (failure.status !== undefined) return "status";
  return "other";
}

/** The decision calls of the SDK, each through the breaker. */
export type DecisionClient = Pick<Permit, "bulkCheck" | "getUserPermissions">;

export function guardDecisions(permit: DecisionClient, breaker: PdpBreaker): DecisionClient {
  return {
    bulkCheck: (...args) => breaker.run("bulk_check", () => permit.bulkCheck(...args)),
    getUserPermissions: (...args) => breaker.run("user_permissions", () => permit.getUserPermissions(...args)),
  };
}
