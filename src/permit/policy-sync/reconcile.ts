/**
 * The one reconciliation loop every object kind of the policy goes through: desired (the
 * policy) against actual (the Permit environment) → create what is missing, update what
 * differs, and, when pruning, delete what the policy does not define. Every change is recorded
 * for the summary and logged as one line.
 */
import type { Permit } from "permitio";
import { describePermitError } from "../client";
import { listAll } from "../rest";

export interface ApplyPolicyResult {
  created: string[];
  updated: string[];
  unchanged: number;
  removed: string[];
}

/** A failed step of the apply, described without the SDK error (which holds the API key). */
class PolicyApplyError extends Error {
  readonly status?: number;
  constructor(readonly step: string, cause: unknown) {
    const f = describePermitError(cause);
    super(`${step}: ${f.message}${f.status ? ` (HTTP ${f.status})` : ""}`);
    this.name = "PolicyApplyError";
    this.status = f.status;
  }
}

/** One apply: the SDK's schema API, the changes made so far, and where they are logged. */
export class SyncRun {
  readonly result: ApplyPolicyResult = { created: [], updated: [], unchanged: 0, removed: [] };

  constructor(
    readonly api: Permit["api"],
    private readonly log: (line: string) => void,
    /** Read and compare only: the changes are recorded and logged ("would …"), never written. */
    readonly dryRun = false,
  ) {}

  /** Runs one step; a failure becomes a PolicyApplyError naming the step. */
  async step<T>(label: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof PolicyApplyError ? err : new PolicyApplyError(label, err);
    }
  }

  /** Every item of a paginated list, as one step. */
  list<T>(label: string, fetchPage: (page: number, perPage: number) => Promise<T[]>): Promise<T[]> {
    return this.step(label, () => listAll(fetchPage));
  }

  created(label: string): void {
    this.result.created.push(label);
    this.log(`${this.dryRun ? "would create" : "created"} ${label}`);
  }

  updated(label: string, what: string[]): void {
    this.result.updated.push(label);
    this.log(`${this.dryRun ? "would update" : "updated"} ${label} (${what.join(", ")})`);
  }

  removed(label: string): void {
    this.result.removed.push(label);
    this.log(`${this.dryRun ? "would remove" : "removed"} ${label}`);
  }

  unchanged(): void {
    this.result.unchanged++;
  }
}

/** What differs between the policy and the environment, and the write that puts it back. */
export interface Change {
  what: string[];
  write(): Promise<void>;
}

/** How one kind of object is read, created and updated. */
export interface ObjectKind<Desired, Actual> {
  /** The object's name in logs and in the summary, e.g. `role:admin`. */
  label(desired: Desired): string;
  /** The object as the environment has it; undefined when it is missing. */
  read(desired: Desired): Promise<Actual | undefined>;
  create(desired: Desired): Promise<void>;
  /** Undefined when the object already matches the policy (and when the kind is never updated). */
  change?(desired: Desired, actual: Actual): Change | undefined;
}

/** Creates every desired object that is missing and updates every one that differs. */
export async function reconcile<Desired, Actual>(run: SyncRun, desired: readonly Desired[], kind: ObjectKind<Desired, Actual>): Promise<void> {
  for (const d of desired) {
    const label = kind.label(d);
    await run.step(label, async () => {
      const actual = await kind.read(d);
      if (actual === undefined) {
        if (!run.dryRun) await kind.create(d);
        return run.created(label);
      }
      const change = kind.change?.(d, actual);
      if (!change) return run.unchanged();
      if (!run.dryRun) await change.write();
      run.updated(label, change.what);
    });
  }
}

/** How the objects of one kind that the policy does not define are found and deleted. */
export interface ExtraObjects<Actual> {
  label(actual: Actual): string;
  /** True for objects the policy defines, and for objects that are not ours to delete. */
  keep(actual: Actual): boolean;
  remove(actual: Actual): Promise<unknown>;
}

/** Deletes every object of `actual` the policy does not want (`--prune`). */
export async function pruneExtra<Actual>(run: SyncRun, actual: readonly Actual[], extra: ExtraObjects<Actual>): Promise<void> {
  for (const a of actual) {
    if (extra.keep(a)) continue;
    const label = extra.label(a);
    if (!run.dryRun) await run.step(label, () => extra.remove(a));
    run.removed(label);
  }
}

// ─── comparisons shared by several kinds ───────────────────────────────────────────────────

export const sameSet = (a: readonly string[], b: readonly string[]): boolean => {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((v, i) => v === y[i]);
};

interface Described {
  name: string;
  description?: string;
}

/** `name` and `description` when they differ; a description the policy leaves out is not compared. */
export function describedDiff(desired: Described, actual: { name?: string; description?: string }): string[] {
  const diff: string[] = [];
  if (actual.name !== desired.name) diff.push("name");
  if (desired.description !== undefined && (actual.description ?? "") !== desired.description) diff.push("description");
  return diff;
}

/** The `name` and (when the policy sets one) `description` fields of an update. */
export const describedAs = (desired: Described): Described => ({
  name: desired.name,
  ...(desired.description !== undefined ? { description: desired.description } : {}),
});
