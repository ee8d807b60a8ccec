import type { DataSource } from "typeorm";
import type { CursorCodec } from "./graphql/cursor";
import { NoteRepository } from "./notes/note.repository";
import { NoteService } from "./notes/note.service";
import type { FactDelivery } from "./outbox/delivery";
import { UserRepository } from "./users/user.repository";
import { UserService } from "./users/user.service";
import { WorkspaceRepository } from "./workspaces/workspace.repository";
import { WorkspaceService } from "./workspaces/workspace.service";

/** The use cases, created once per process and shared by every request. */
export interface Services {
  notes: NoteService;
  workspaces: WorkspaceService;
  users: UserService;
}

export function createServices(ds: DataSource, facts: FactDelivery, cursors: CursorCodec): Services {
  const users = new UserService(new UserRepository(ds));
  return {
    users,
    notes: new NoteService(ds, new NoteRepository(ds), facts, cursors),
    workspaces: new WorkspaceService(ds, new WorkspaceRepository(ds), users, facts),
  };
}
