/**
 * Request-scoped DataLoaders: each entity is read once per request, and the reads of one tick
 * become one query. Authorization rules and resolvers share them, so a rule that loads a note
 * to decide on it costs nothing extra when the resolver returns that note.
 */
import DataLoader from "dataloader";
import type { EntityLoaders } from "../authz/context";
import type { Note } from "../notes/note.entity";
import type { User } from "../users/user.entity";
import type { Workspace } from "../workspaces/workspace.entity";
import type { WorkspaceMember } from "../workspaces/workspace-member.entity";

export interface Loaders extends EntityLoaders {
  user: DataLoader<string, User | null>;
  members: DataLoader<string, WorkspaceMember[]>;
}

/** Where the loaders read from (the services' batch reads). */
export interface LoaderSources {
  notes: { findByIds(ids: readonly string[]): Promise<Note[]> };
  workspaces: { findByIds(ids: readonly string[]): Promise<Workspace[]>; membersOf(ids: readonly string[]): Promise<WorkspaceMember[]> };
  users: { findByIds(ids: readonly string[]): Promise<User[]> };
}

function byId<T extends { id: string }>(load: (ids: readonly string[]) => Promise<T[]>) {
  return new DataLoader<string, T | null>(async (ids) => {
    const rows = await load(ids);
    const index = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => index.get(id) ?? null);
  });
}

export function createLoaders(sources: LoaderSources): Loaders {
  return {
    note: byId((ids) => sources.notes.findByIds(ids)),
    workspace: byId((ids) => sources.workspaces.findByIds(ids)),
    user: byId((ids) => sources.users.findByIds(ids)),
    members: new DataLoader(async (workspaceIds) => {
      const rows = await sources.workspaces.membersOf(workspaceIds);
      return workspaceIds.map((id) => rows.filter((row) => row.workspaceId === id));
    }),
  };
}
