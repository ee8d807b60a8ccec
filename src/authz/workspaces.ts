/**
 * Decisions on workspaces that the resolvers need beyond the shield rules: which of the
 * caller's memberships they may read, and what `viewerCan` says.
 */
import type { GraphQLResolveInfo } from "graphql";
import type { Workspace } from "../workspaces/workspace.entity";
import { requireCaller, type AuthzContext } from "./context";
import { WorkspaceAction, WorkspaceViewerCan } from "./policy";
import { workspaceResource, workspaceViewerCanActions } from "./resources";

/** The candidates the caller may read; what `viewerCan` will ask is decided in the same PDP call. */
export async function readableWorkspaces(ctx: AuthzContext, candidates: Workspace[], info: GraphQLResolveInfo): Promise<Workspace[]> {
  const { authorizer } = requireCaller(ctx);
  const prefetch = workspaceViewerCanActions(info);
  const readable = await Promise.all(
    candidates.map((w) => {
      const resource = workspaceResource(w);
      authorizer.prefetch(prefetch, resource);
      return authorizer.can(WorkspaceAction.get, resource);
    }),
  );
  return candidates.filter((_, i) => readable[i]);
}

export interface WorkspacePermissions {
  get: boolean;
  put: boolean;
  delete: boolean;
  share: boolean;
  addNote: boolean;
}

/** `Workspace.viewerCan`: from the same decisions that enforce the operations. */
export async function workspacePermissions(ctx: AuthzContext, workspace: Workspace): Promise<WorkspacePermissions> {
  const { authorizer } = requireCaller(ctx);
  const resource = workspaceResource(workspace);
  const [get, put, del, share, addNote] = await Promise.all(WorkspaceViewerCan.map((a) => authorizer.can(a, resource)));
  return { get: get!, put: put!, delete: del!, share: share!, addNote: addNote! };
}
