import type { GraphQLResolveInfo } from "graphql";
import { Arg, Ctx, FieldResolver, ID, Info, Mutation, Query, Resolver, Root } from "type-graphql";
import { requireCaller } from "../authz/context";
import { readableWorkspaces, workspacePermissions } from "../authz/workspaces";
import { notFound } from "../common/errors";
import { requireId } from "../common/validation";
import { settle, type RequestContext } from "../graphql/context";
import { UserType } from "../users/user.types";
import type { Workspace } from "./workspace.entity";
import type { WorkspaceMember } from "./workspace-member.entity";
import { CreateWorkspaceInput, WorkspaceMemberType, WorkspacePermissionsType, WorkspaceType } from "./workspace.types";
import { WorkspaceRole } from "./workspace-member.entity";

/** Thin resolvers: the shield rules (authz/rules.ts) decide before these run; the rest is asked of authz/workspaces.ts. */
@Resolver(() => WorkspaceType)
export class WorkspaceResolver {
  @Query(() => WorkspaceType, { nullable: true, description: "One workspace. NOT_FOUND when missing or not readable by the caller." })
  async workspace(@Arg("id", () => ID) id: string, @Ctx() ctx: RequestContext): Promise<Workspace> {
    const workspace = await ctx.loaders.workspace.load(requireId(id, "id"));
    if (!workspace) throw notFound("Workspace", id);
    return workspace;
  }

  @Query(() => [WorkspaceType], { description: "Workspaces in which the caller holds a role." })
  async workspaces(@Ctx() ctx: RequestContext, @Info() info: GraphQLResolveInfo): Promise<Workspace[]> {
    const { principal } = requireCaller(ctx);
    return readableWorkspaces(ctx, await ctx.services.workspaces.forMember(principal.userId), info);
  }

  @Mutation(() => WorkspaceType, { description: "Create a workspace; the caller becomes its OWNER." })
  async createWorkspace(@Arg("input", () => CreateWorkspaceInput) input: CreateWorkspaceInput, @Ctx() ctx: RequestContext): Promise<Workspace> {
    const { principal } = requireCaller(ctx);
    return settle(ctx, await ctx.services.workspaces.create(principal.userId, input));
  }

  @Mutation(() => WorkspaceMemberType, {
    description: "Give a known user (one who has signed in at least once) a role in a workspace, or change it.",
  })
  async shareWorkspace(
    @Arg("workspaceId", () => ID) workspaceId: string,
    @Arg("email", () => String) email: string,
    @Arg("role", () => WorkspaceRole) role: WorkspaceRole,
    @Ctx() ctx: RequestContext,
  ): Promise<WorkspaceMember> {
    requireCaller(ctx);
    return settle(ctx, await ctx.services.workspaces.share(requireId(workspaceId, "workspaceId"), email, role));
  }

  @Mutation(() => Boolean, { description: "Remove a user's role in a workspace." })
  async unshareWorkspace(
    @Arg("workspaceId", () => ID) workspaceId: string,
    @Arg("userId", () => ID) userId: string,
    @Ctx() ctx: RequestContext,
  ): Promise<boolean> {
    requireCaller(ctx);
    return settle(ctx, await ctx.services.workspaces.unshare(requireId(workspaceId, "workspaceId"), requireId(userId, "userId")));
  }

  @FieldResolver(() => [WorkspaceMemberType])
  members(@Root() workspace: Workspace, @Ctx() ctx: RequestContext): Promise<WorkspaceMember[]> {
    return ctx.loaders.members.load(workspace.id);
  }

  @FieldResolver(() => WorkspaceRole, { nullable: true, description: "The caller's role here, or null." })
  async viewerRole(@Root() workspace: Workspace, @Ctx() ctx: RequestContext): Promise<WorkspaceRole | null> {
    const { principal } = requireCaller(ctx);
    const members = await ctx.loaders.members.load(workspace.id);
    const role = members.find((m) => m.userId === principal.userId)?.role;
    return role ? WorkspaceRole[role] : null;
  }

  @FieldResolver(() => WorkspacePermissionsType)
  viewerCan(@Root() workspace: Workspace, @Ctx() ctx: RequestContext): Promise<WorkspacePermissionsType> {
    return workspacePermissions(ctx, workspace);
  }
}

@Resolver(() => WorkspaceMemberType)
export class WorkspaceMemberResolver {
  @FieldResolver(() => UserType)
  user(@Root() member: WorkspaceMember): UserType {
    return { id: member.userId };
  }
}
