/**
 * `npm run permit -- history [--json]`: the policy changes `npm run permit:apply` recorded in
 * the database (newest first).
 */
import { loadConfig } from "../config";
import { historyLines, listPolicyChanges } from "../permit/policy-history";
import { openCliDatabase } from "./database";
import type { Io } from "./run";

/** `flags` were checked by the caller's argument parser (`--json` is the only one). */
export async function runHistoryCommand(flags: ReadonlySet<string>, io: Io): Promise<number> {
  const json = flags.has("--json");
  const ds = await openCliDatabase(loadConfig(), "The policy history is kept in the database");
  try {
    const changes = await listPolicyChanges(ds);
    if (json) {
      io.out(JSON.stringify(changes.map((c) => ({ id: c.id, appliedAt: c.appliedAt.toISOString(), actor: c.actor, target: c.target, policyHash: c.policyHash, summary: c.summary }))));
    } else {
      for (const line of historyLines(changes)) io.out(line);
    }
    return 0;
  } finally {
    await ds.destroy();
  }
}
