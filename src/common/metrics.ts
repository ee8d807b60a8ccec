/**
 * The process's Prometheus metrics, one registry per running API (tests start several in one
 * process). Created by the composition root and handed to whoever observes something; served
 * by `http/routes/metrics.ts`. Every label takes values from a bounded set: operation names
 * from the schema's root fields, resource types and actions from the policy, PDP endpoints
 * from a fixed list.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type PdpEndpoint = "bulk_check" | "user_permissions" | "policy_read" | "assignments_read" | "user_sync";
export type PdpOutcome = "ok" | "error" | "rejected";

export interface Metrics {
  registry: Registry;
  /** HTTP requests to /graphql by status. */
  requests: Histogram<"status">;
  /** GraphQL operations by root field(s) and type. */
  operations: Histogram<"operation" | "type" | "outcome">;
  authzUnavailable: Counter;
  pdpCalls: Histogram<"endpoint" | "outcome">;
  pdpErrors: Counter<"endpoint" | "reason">;
  decisions: Counter<"resource" | "action" | "result">;
  checksPerRequest: Histogram;
  userSyncs: Counter<"result">;
  circuitState: Gauge;
  rateLimited: Counter<"scope">;
  /** Open `noteEvents` subscriptions on this replica. */
  liveSubscriptions: Gauge;
  /** Note events per subscriber by outcome. */
  noteEvents: Counter<"outcome">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const registers = [registry];
  const circuitState = new Gauge({
    name: "pdp_circuit_state",
    help: "Circuit breaker in front of the policy decision point: 0 closed, 1 half-open (probing), 2 open (failing fast)",
    registers,
  });
  circuitState.set(0);
  return {
    registry,
    liveSubscriptions: new Gauge({ name: "graphql_subscriptions", help: "Open noteEvents subscriptions on this replica", registers }),
    noteEvents: new Counter({
      name: "note_events_total",
      help: "Note events per subscriber by outcome: delivered, denied (the PDP said no), unavailable (not delivered: the PDP or the database did not answer)",
      labelNames: ["outcome"],
      registers,
    }),
    requests: new Histogram({ name: "graphql_request_duration_seconds", help: "GraphQL HTTP requests by status", labelNames: ["status"], registers }),
    operations: new Histogram({
      name: "graphql_operation_duration_seconds",
      help: "GraphQL operations by root field(s) (`other` when unknown or more than two), type and outcome (ok, error)",
      labelNames: ["operation", "type", "outcome"],
      registers,
    }),
    authzUnavailable: new Counter({
      name: "authz_unavailable_total",
      help: "Requests that failed closed because the policy decision point was unreachable",
      registers,
    }),
    pdpCalls: new Histogram({
      name: "pdp_call_duration_seconds",
      help: "Calls on the decision path to the PDP (and Permit's API for list plans) by endpoint and outcome (rejected: not sent, circuit open)",
      labelNames: ["endpoint", "outcome"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    pdpErrors: new Counter({
      name: "pdp_call_errors_total",
      help: "Failed calls on the decision path by endpoint and reason (connection, timeout, status, circuit_open, other)",
      labelNames: ["endpoint", "reason"],
      registers,
    }),
    decisions: new Counter({
      name: "authz_decisions_total",
      help: "Decisions received from the PDP by resource type, action and result (allow, deny)",
      labelNames: ["resource", "action", "result"],
      registers,
    }),
    checksPerRequest: new Histogram({
      name: "authz_checks_per_request",
      help: "Checks sent to the PDP per GraphQL request (memoized decisions are not counted)",
      buckets: [0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 5000],
      registers,
    }),
    userSyncs: new Counter({ name: "permit_user_syncs_total", help: "Users synced to Permit on first sight, by result", labelNames: ["result"], registers }),
    circuitState,
    rateLimited: new Counter({
      name: "rate_limited_total",
      help: "GraphQL requests refused with 429 by scope (user, anonymous)",
      labelNames: ["scope"],
      registers,
    }),
  };
}
