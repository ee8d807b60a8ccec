import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { User } from "../users/user.entity";
import { Workspace } from "./workspace.entity";

export const WORKSPACE_ROLES = ["OWNER", "EDITOR", "VIEWER"] as const;
export type WorkspaceRoleName = (typeof WORKSPACE_ROLES)[number];

/** A user's role in a workspace. The database is the source of truth; the PDP gets it as a fact. */
@Check("CHK_workspace_members_role", `"role" IN ('OWNER', 'EDITOR', 'VIEWER')`)
@Index("IDX_workspace_members_user", ["userId"])
@Entity({ name: "workspace_members" })
export class WorkspaceMember {
  @PrimaryColumn({ name: "workspace_id", type: "uuid" })
  workspaceId!: string;

  @PrimaryColumn({ name: "user_id", type: "uuid" })
  userId!: string;

  @ManyToOne(() => Workspace, { onDelete: "CASCADE" })
  @JoinColumn({ name: "workspace_id", foreignKeyConstraintName: "FK_workspace_members_workspace" })
  workspace?: Workspace;

  @ManyToOne(() => User, { onDelete: "CASCADE" })
  @JoinColumn({ name: "user_id", foreignKeyConstraintName: "FK_workspace_members_user" })
  user?: User;

  @Column({ type: "text" })
  role!: WorkspaceRoleName;

  @CreateDateColumn({ name: "created_at", type: "timestamptz", precision: 3 })
  createdAt!: Date;
}
