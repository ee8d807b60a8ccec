/**
 * What authorization needs from a request, and nothing more: the verified caller, their
 * request-scoped Authorizer, and the loaders that read the stored entities decided on.
 */
import type DataLoader from "dataloader";
import type { Principal } from "../auth/principal";
import { unauthenticated } from "../common/errors";
import type { Note } from "../notes/note.entity";
import type { Workspace } from "../workspaces/workspace.entity";
import type { Authorizer } from "./authorizer";
import type { ListPlanner } from "./list-plan";

export interface EntityLoaders {
  note: DataLoader<string, Note | null>;
  workspace: DataLoader<string, Workspace | null>;
}

export interface AuthzContext {
  principal: Principal | null;
  /** Present exactly when `principal` is. */
  authorizer: Authorizer | null;
  loaders: EntityLoaders;
  /** Process-wide: the candidate rows of list pages. */
  listPlanner: Pick<ListPlanner, "notes">;
}

/** The caller and their Authorizer, or UNAUTHENTICATED: the one place that requires a caller. */
export function requireCaller(ctx: AuthzContext): { principal: Principal; authorizer: Authorizer } {
  if (!ctx.principal || !ctx.authorizer) throw unauthenticated();
  return { principal: ctx.principal, authorizer: ctx.authorizer };
}
