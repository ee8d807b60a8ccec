import type { DataSource, EntityManager } from "typeorm";
import { Workspace } from "./workspace.entity";
import { WorkspaceMember, type WorkspaceRole } from "./workspace-member.entity";

export class WorkspaceRepository {
  constructor(private readonly ds: DataSource) {}

  findByIds(ids: readonly string[]): Promise<Workspace[]> {
    return this.ds.getRepository(Workspace).createQueryBuilder("w").where("w.id IN (:...ids)", { ids }).getMany();
  }

  /** Workspaces where the user holds a role, oldest first (a stable order for clients). */
  forMember(userId: string): Promise<Workspace[]> {
    return this.ds
      .getRepository(Workspace)
      .createQueryBuilder("w")
      .innerJoin(WorkspaceMember, "m", "m.workspace_id = w.id")
      .where("m.user_id = :userId", { userId })
      .orderBy("w.created_at", "ASC")
      .addOrderBy("w.id", "ASC")
      .getMany();
  }

  membersOf(workspaceIds: readonly string[]): Promise<WorkspaceMember[]> {
    return this.ds
      .getRepository(WorkspaceMember)
      .createQueryBuilder("m")
      .where("m.workspace_id IN (:...workspaceIds)", { workspaceIds })
      .orderBy("m.created_at", "ASC")
      .addOrderBy("m.user_id", "ASC")
      .getMany();
  }

  insert(m: EntityManager, workspace: Pick<Workspace, "name" | "ownerId">): Promise<Workspace> {
    return m.save(Workspace, m.create(Workspace, workspace));
  }

  /** Locks the workspace row so that concurrent membership changes are serialized. */
  lock(m: EntityManager, id: string): Promise<Workspace | null> {
    return m.getRepository(Workspace).createQueryBuilder("w").setLock("pessimistic_write").where("w.id = :id", { id }).getOne();
  }

  async members(m: EntityManager, workspaceId: string): Promise<WorkspaceMember[]> {
    return m.getRepository(WorkspaceMember).findBy({ workspaceId });
  }

  async setRole(m: EntityManager, workspaceId: string, userId: string, role: WorkspaceRole): Promise<WorkspaceMember> {
    await m.query(
      `INSERT INTO workspace_members (workspace_id, user_id, role) VALUES ($1, $2, $3)
       ON CONFLICT (workspace_id, user_id) DO UPDATE SET role = EXCLUDED.role`,
      [workspaceId, userId, role],
    );
    return m.getRepository(WorkspaceMember).findOneByOrFail({ workspaceId, userId });
  }

  async removeMember(m: EntityManager, workspaceId: string, userId: string): Promise<boolean> {
    const result = await m.getRepository(WorkspaceMember).delete({ workspaceId, userId });
    return (result.affected ?? 0) > 0;
  }
}
