/**
 * What an explanation of a decision reads from Permit: the PDP's answer to one check with its
 * `debug` object (protocol §6.7; the SDK drops it, so `/allowed` is called here with the same
 * body and key the SDK would send), the user's roles and attributes, and the relationship
 * tuples of an instance. Diagnostic reads only: nothing here decides a request.
 */
import type { Permit } from "permitio";
import { readUserAssignments, type UserAssignments } from "./policy-reader";
import { listAll, orMissing } from "./rest";

/** One model's block of Permit's `debug` (only the fields explanations read). */
export interface ModelDebug {
  allow: boolean;
  code: string;
  reason: string;
  allowing_roles?: string[];
  allowing_rules?: { user_set: string; resource_set: string }[];
}

export interface PdpDebug {
  request?: {
    user?: { key?: string; attributes?: Record<string, unknown> };
    resource?: { type?: string; attributes?: Record<string, unknown> };
  };
  rbac?: ModelDebug;
  abac?: ModelDebug;
  rebac?: ModelDebug;
}

export interface CheckedWithDebug {
  allow: boolean;
  /** Absent when the PDP runs without its debugger. */
  debug?: PdpDebug;
}

export interface CheckRequest {
  userId: string;
  action: string;
  resource: { type: string; key?: string; attributes?: Record<string, unknown> };
}

export interface DecisionFacts {
  /** Where the answers come from, for messages (never the key). */
  readonly pdpUrl: string;
  check(request: CheckRequest): Promise<CheckedWithDebug>;
  /** The user's assignments and stored attributes; undefined when Permit does not know them. */
  user(userId: string): Promise<{ assignments: UserAssignments; attributes: Record<string, unknown> } | undefined>;
  /** Subjects of the tuples `subject —relation→ object`. */
  related(object: string, relation: string): Promise<string[]>;
}

export function permitDecisionFacts(permit: Pick<Permit, "api" | "config">, tenant: string): DecisionFacts {
  const pdpUrl = permit.config.pdp.replace(/\/+$/, "");
  return {
    pdpUrl,
    async check({ userId, action, resource }) {
      const response = await fetch(`${pdpUrl}/allowed`, {
        method: "POST",
        headers: { authorization: `Bearer ${permit.config.token}`, "content-type": "application/json" },
        body: JSON.stringify({ user: { key: userId }, action, resource: { ...resource, tenant }, context: {} }),
        signal: AbortSignal.timeout(Math.max(5_000, permit.config.timeout ?? 0)),
      });
      if (!response.ok) throw new Error(`the PDP answered HTTP ${response.status} to /allowed`);
      const body = (await response.json()) as { allow?: unknown; result?: { allow?: unknown }; debug?: unknown };
      const allow = (body.allow ?? body.result?.allow) === true;
      const debug = typeof body.debug === "object" && body.debug !== null ? (body.debug as PdpDebug) : undefined;
      return debug ? { allow, debug } : { allow };
    },
    async user(userId) {
      const user = await orMissing(() => permit.api.users.get(userId));
      if (!user) return undefined;
      return { assignments: await readUserAssignments(permit, userId, tenant), attributes: (user.attributes ?? {}) as Record<string, unknown> };
    },
    async related(object, relation) {
      const tuples = await listAll((page, perPage) => permit.api.relationshipTuples.list({ tenant, object, relation, page, perPage }));
      return tuples.map((t) => t.subject).filter((s): s is string => typeof s === "string" && s.length > 0);
    },
  };
}
