/**
 * The policy history: what each `npm run permit:apply` changed in a Permit environment, who ran
 * it and when, as rows of `policy_changes` (listed by `npm run permit -- history`) and one
 * structured log line per apply.
 */
import { createHash } from "node:crypto";
import type { DataSource } from "typeorm";
import type { Policy } from "../authz/policy";
import type { Logger } from "../common/logger";
import { stableStringify } from "../common/stable-json";
import { PolicyChange, type PolicyChangeSummary } from "./policy-change.entity";
import type { ApplyPolicyResult } from "./policy-sync";

/** sha256 of the policy's canonical JSON: equal policies have equal hashes whatever their key order. */
export function policyHash(policy: Policy): string {
  return createHash("sha256").update(stableStringify(policy)).digest("hex");
}

export interface AppliedPolicy {
  actor: string;
  /** Where it went (Permit's API URL and tenant), never a key. */
  target: string;
  policy: Policy;
  prune: boolean;
  result: ApplyPolicyResult;
}

/** Records an apply that changed something (an apply that changed nothing leaves no row). */
export async function recordPolicyChange(ds: DataSource, applied: AppliedPolicy, logger: Logger): Promise<PolicyChange | undefined> {
  const { created, updated, removed, unchanged } = applied.result;
  if (created.length + updated.length + removed.length === 0) return undefined;
  const summary: PolicyChangeSummary = { prune: applied.prune, created, updated, removed, unchanged };
  const row = await ds.getRepository(PolicyChange).save({ actor: applied.actor, target: applied.target, summary, policyHash: policyHash(applied.policy) });
  logger.info(
    { policyChangeId: row.id, actor: row.actor, target: row.target, policyHash: row.policyHash, ...summary },
    "policy applied",
  );
  return row;
}

/** The changes, newest first. */
export function listPolicyChanges(ds: DataSource, limit = 100): Promise<PolicyChange[]> {
  return ds.getRepository(PolicyChange).find({ order: { id: "DESC" }, take: limit });
}

/** One block per change: when, who, where, the counts, then every object changed. */
export function historyLines(changes: PolicyChange[]): string[] {
  if (changes.length === 0) return ["No policy change recorded."];
  return changes.flatMap((c) => {
    const s = c.summary;
    return [
      `#${c.id} ${c.appliedAt.toISOString()} by ${c.actor} to ${c.target}${s.prune ? " (pruned)" : ""}: ` +
        `${s.created.length} created, ${s.updated.length} updated, ${s.removed.length} removed (policy ${c.policyHash.slice(0, 12)})`,
      ...s.created.map((x) => `  + ${x}`),
      ...s.updated.map((x) => `  ~ ${x}`),
      ...s.removed.map((x) => `  - ${x}`),
    ];
  });
}
