/**
 * `npm run permit -- outbox list | retry <id> | skip <id>`: the facts Permit has not acknowledged
 * yet, and what an operator does about a stuck one (outbox/delivery.ts): try it again once
 * whatever made Permit refuse it is fixed, or skip it, which repairs the fact's objects in Permit
 * from the database (the reconcile, for those objects only) and then removes the fact.
 */
import type { Permit } from "permitio";
import type { DataSource } from "typeorm";
import { withDeliveryPaused } from "../outbox/delivery";
import { findPendingFact, listPendingFacts, removeFact, retryFact, type PendingFact } from "../outbox/pending-facts";
import { changeCount, diffLines, reconcile } from "../permit/reconcile";
import { CommandError, UsageError, type Io } from "./run";

/** Facts `list` prints, oldest first. */
const LIST_LIMIT = 100;

export const OUTBOX_COMMANDS: Record<string, number> = { list: 0, retry: 1, skip: 1 };

export interface OutboxDeps {
  ds: DataSource;
  /** Needed by `skip` only. */
  permit?: Pick<Permit, "api">;
  tenant: string;
}

const label = (f: PendingFact) => `#${f.id} ${f.kind} (${f.objects.join(", ")})`;

function lines(f: PendingFact): string[] {
  const state = f.stuckAt
    ? `STUCK since ${f.stuckAt.toISOString()} after ${f.rejections} refusals; holds back ${f.holdsBack ?? 0} later fact${f.holdsBack === 1 ? "" : "s"}`
    : f.attempts === 0
      ? "pending"
      : `retrying: ${f.attempts} attempt${f.attempts === 1 ? "" : "s"}, next at ${f.nextAttemptAt.toISOString()}`;
  return [`${label(f)} recorded ${f.createdAt.toISOString()}: ${state}`, ...(f.lastError ? [`    Permit answered: ${f.lastError}`] : [])];
}

function factId(raw: string | undefined): string {
  if (!raw || !/^[1-9]\d{0,18}$/.test(raw)) throw new UsageError(`"${raw ?? ""}" is not a fact id (the number \`outbox list\` shows after #).`);
  return raw;
}

export async function runOutboxCommand(deps: OutboxDeps, args: string[], flags: ReadonlySet<string>, io: Io): Promise<void> {
  const [sub, raw] = args;
  switch (sub) {
    case "list": {
      const { facts, pending, stuck } = await listPendingFacts(deps.ds, LIST_LIMIT);
      if (flags.has("--json")) {
        io.out(JSON.stringify({ pending, stuck, facts }));
        return;
      }
      for (const f of facts) for (const line of lines(f)) io.out(line);
      if (pending > facts.length) io.out(`… and ${pending - facts.length} more`);
      io.out(pending === 0 ? "No fact is waiting: Permit has acknowledged every one." : `${pending} pending, ${stuck} stuck.`);
      return;
    }
    case "retry": {
      const id = factId(raw);
      const fact = await retryFact(deps.ds, id);
      if (!fact) throw new CommandError(`No fact #${id} is pending (it was delivered or skipped, or never recorded).`);
      io.out(`${label(fact)} will be tried again at the next delivery (within seconds while the API runs).`);
      return;
    }
    case "skip": {
      const id = factId(raw);
      const permit = deps.permit;
      if (!permit) throw new CommandError("skip needs Permit and the database.");
      // Paused, so that no replica writes a fact between reading Permit and repairing it.
      await withDeliveryPaused(deps.ds, async () => {
        const fact = await findPendingFact(deps.ds, id);
        if (!fact) throw new CommandError(`No fact #${id} is pending (it was delivered or skipped, or never recorded).`);
        if (!fact.stuckAt) throw new CommandError(`Fact #${id} is not stuck: it will be delivered. Only a stuck fact can be skipped.`);
        io.err(`Repairing ${fact.objects.join(", ")} in Permit from the database…`);
        const report = await reconcile({ permit, ds: deps.ds, tenant: deps.tenant, dryRun: false, scope: fact.objects });
        for (const line of diffLines(report.diff)) io.out(line);
        // Removed only once Permit holds the database's state for its objects: a failed repair leaves it stuck.
        await removeFact(deps.ds, id);
        io.out(`Skipped ${label(fact)}; ${changeCount(report.diff)} facts repaired for its objects.`);
      });
      return;
    }
  }
}
