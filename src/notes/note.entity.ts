import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  UpdateDateColumn,
  VersionColumn,
} from "typeorm";
import { User } from "../users/user.entity";
import { Workspace } from "../workspaces/workspace.entity";

// Keyset pagination (created_at DESC, id DESC); TypeORM cannot express DESC, the migration owns them.
@Index("IDX_notes_created_id", { synchronize: false })
@Index("IDX_notes_workspace_created_id", { synchronize: false })
@Index("IDX_notes_owner_created_id", { synchronize: false })
@Entity({ name: "notes" })
export class Note {
  @PrimaryGeneratedColumn("uuid")
  id!: string;

  @Column({ type: "text" })
  title!: string;

  @Column({ type: "text" })
  body!: string;

  @Column({ name: "owner_id", type: "uuid" })
  ownerId!: string;

  @ManyToOne(() => User, { onDelete: "NO ACTION" })
  @JoinColumn({ name: "owner_id", foreignKeyConstraintName: "FK_notes_owner" })
  owner?: User;

  @Column({ name: "workspace_id", type: "uuid", nullable: true })
  workspaceId!: string | null;

  @ManyToOne(() => Workspace, { onDelete: "NO ACTION", nullable: true })
  @JoinColumn({ name: "workspace_id", foreignKeyConstraintName: "FK_notes_workspace" })
  workspace?: Workspace | null;

  /** Starts at 1 and grows by one on every update; `expectedVersion` compares against it. */
  @VersionColumn({ type: "integer" })
  version!: number;

  // Millisecond precision so that a JavaScript Date round-trips exactly through a cursor.
  @CreateDateColumn({ name: "created_at", type: "timestamptz", precision: 3 })
  createdAt!: Date;

  @UpdateDateColumn({ name: "updated_at", type: "timestamptz", precision: 3 })
  updatedAt!: Date;
}
