import { Check, Column, CreateDateColumn, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn } from "typeorm";
import { User } from "../users/user.entity";
import { Workspace } from "./workspace.entity";

/**
 * The roles a member can hold in a workspace: the one spelling of them. The GraphQL enum, the
 * column's CHECK constraint and the policy's resource roles (authz/policy.ts) all derive from it.
 */
export const WorkspaceRole = {
  OWNER: "OWNER",
  EDITOR: "EDITOR",
  VIEWER: "VIEWER",
} as const;
export type WorkspaceRole = (typeof WorkspaceRole)[keyof typeof WorkspaceRole];

/** A user's role in a workspace. The database is the source of truth; the PDP gets it as a fact. */
@Check("CHK_workspace_members_role", `"role" IN (${Object.values(WorkspaceRole).map((role) => `'${role}'`).join(", ")})`)
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
  role!: WorkspaceRole;

  @CreateDateColumn({ name: "created_at", type: "timestamptz", precision: 3 })
  createdAt!: Date;
}
