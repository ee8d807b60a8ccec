/**
 * Who may see a note's deletion in the feed and on live streams: decided by the writer before
 * it deletes, in one bulk call, because afterwards the deletion's own fact may already have
 * reached the PDP, which then no longer knows the note's workspace, and a reader through a
 * workspace role would be denied.
 *
 * The candidates are the note's workspace members: the readers through a relationship. Anyone
 * else who could read the note did so through what needs no relationship (a tenant role,
 * authorship), which the feed and the live streams still ask the PDP about when the change is
 * read, from the note's last attributes.
 *
 * If the PDP cannot decide, the deletion goes on and the members are its audience unchecked:
 * at worst a member whose role could not read the note learns the id of a note deleted from
 * their own workspace; the alternative, a device keeping a note that no longer exists, is worse.
 */
import type { DataSource } from "typeorm";
import { decideInBulk, type BulkDecisionDeps } from "./authorizer";
import { NoteAction } from "./policy";
import { noteResource } from "./resources";
import { ErrorCode, isAppError } from "../common/errors";
import type { DeletionAudience } from "../changes/change-log";

export function createDeletionAudience(ds: DataSource, deps: BulkDecisionDeps): DeletionAudience {
  return async (notes) => {
    const workspaceIds = [...new Set(notes.map((n) => n.workspaceId))];
    const members = new Map<string | null, string[]>(workspaceIds.map((w) => [w, []]));
    const inWorkspaces = workspaceIds.filter((w): w is string => w !== null);
    if (inWorkspaces.length > 0) {
      const rows = (await ds.query(`SELECT workspace_id, user_id FROM workspace_members WHERE workspace_id = ANY($1::uuid[])`, [inWorkspaces])) as { workspace_id: string; user_id: string }[];
      for (const r of rows) members.get(r.workspace_id)!.push(r.user_id);
    }
    const audience = new Map<string, string[]>(notes.map((n) => [n.id, []]));
    const checks = notes.flatMap((note) => members.get(note.workspaceId)!.map((user) => ({ user, note })));
    if (checks.length === 0) return audience;
    try {
      const decisions = await decideInBulk(deps, checks.map(({ user, note }) => ({ user, action: NoteAction.get, resource: noteResource(note) })));
      checks.forEach(({ user, note }, i) => decisions[i]!.allow && audience.get(note.id)!.push(user));
      return audience;
    } catch (error) {
      if (!isAppError(error) || error.code !== ErrorCode.AUTHZ_UNAVAILABLE) throw error;
      deps.logger.warn({ notes: notes.length, checks: checks.length }, "the audience of deleted notes could not be decided; their workspace members get the deletion");
      return new Map(notes.map((n) => [n.id, members.get(n.workspaceId)!]));
    }
  };
}
