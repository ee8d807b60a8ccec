import type { DataSource } from "typeorm";
import { conflict, notFound } from "../common/errors";
import { logWorkspaceAccess } from "../changes/change-log";
import type { FactDelivery } from "../outbox/delivery";
import { recordFacts, type Written } from "../outbox/facts";
import type { UserService } from "../users/user.service";
import { requireEmail, requireTrimmedText, WORKSPACE_NAME_MAX } from "../common/validation";
import type { Workspace } from "./workspace.entity";
import type { WorkspaceMember, WorkspaceRole } from "./workspace-member.entity";
import type { WorkspaceRepository } from "./workspace.repository";

export class WorkspaceService {
  constructor(
    private readonly ds: DataSource,
    private readonly workspaces: WorkspaceRepository,
    private readonly users: UserService,
    private readonly facts: FactDelivery,
  ) {}

  findByIds(ids: readonly string[]): Promise<Workspace[]> {
    return this.workspaces.findByIds(ids);
  }

  membersOf(workspaceIds: readonly string[]): Promise<WorkspaceMember[]> {
    return this.workspaces.membersOf(workspaceIds);
  }

  forMember(userId: string): Promise<Workspace[]> {
    return this.workspaces.forMember(userId);
  }

  async create(ownerId: string, input: { name: string }): Promise<Written<Workspace>> {
    const name = requireTrimmedText(input.name, "name", WORKSPACE_NAME_MAX);
    const { workspace, factIds } = await this.ds.transaction(async (m) => {
      const workspace = await this.workspaces.insert(m, { name, ownerId });
      await this.workspaces.setRole(m, workspace.id, ownerId, "OWNER");
      const factIds = await recordFacts(m, [{ kind: "workspace.created", workspaceId: workspace.id, ownerId }]);
      await logWorkspaceAccess(m, "WORKSPACE_GRANTED", [{ workspaceId: workspace.id, userId: ownerId, factIds }]);
      return { workspace, factIds };
    });
    return { value: workspace, factsPending: !(await this.facts.deliver(factIds)) };
  }

  /** Gives a user who has signed in at least once a role here, replacing any role they had. */
  async share(workspaceId: string, rawEmail: string, role: WorkspaceRole): Promise<Written<WorkspaceMember>> {
    const email = requireEmail(rawEmail, "email");
    const user = await this.users.findByEmail(email);
    if (!user) throw notFound("User with email", email);
    const { member, factIds } = await this.ds.transaction(async (m) => {
      if (!(await this.workspaces.lock(m, workspaceId))) throw notFound("Workspace", workspaceId);
      const members = await this.workspaces.members(m, workspaceId);
      const current = members.find((x) => x.userId === user.id);
      if (current?.role === "OWNER" && role !== "OWNER") this.keepAnOwner(members, user.id);
      const member = await this.workspaces.setRole(m, workspaceId, user.id, role);
      if (current?.role === role) return { member, factIds: [] };
      const factIds = await recordFacts(m, [{ kind: "workspace.role_set", workspaceId, userId: user.id, role }]);
      await logWorkspaceAccess(m, "WORKSPACE_GRANTED", [{ workspaceId, userId: user.id, factIds }]);
      return { member, factIds };
    });
    return { value: member, factsPending: !(await this.facts.deliver(factIds)) };
  }

  /** Removes a user's role here; false when they held none. The last owner cannot be removed. */
  async unshare(workspaceId: string, userId: string): Promise<Written<boolean>> {
    const { removed, factIds } = await this.ds.transaction(async (m) => {
      if (!(await this.workspaces.lock(m, workspaceId))) throw notFound("Workspace", workspaceId);
      const members = await this.workspaces.members(m, workspaceId);
      const current = members.find((x) => x.userId === userId);
      if (!current) return { removed: false, factIds: [] };
      if (current.role === "OWNER") this.keepAnOwner(members, userId);
      await this.workspaces.removeMember(m, workspaceId, userId);
      const factIds = await recordFacts(m, [{ kind: "workspace.role_removed", workspaceId, userId }]);
      await logWorkspaceAccess(m, "WORKSPACE_REVOKED", [{ workspaceId, userId, factIds }]);
      return { removed: true, factIds };
    });
    return { value: removed, factsPending: !(await this.facts.deliver(factIds)) };
  }

  private keepAnOwner(members: WorkspaceMember[], leavingUserId: string): void {
    if (!members.some((x) => x.role === "OWNER" && x.userId !== leavingUserId)) {
      throw conflict("A workspace must keep at least one owner.");
    }
  }
}
