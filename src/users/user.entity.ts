import { Column, CreateDateColumn, Entity, PrimaryColumn } from "typeorm";

/** A person known to the API: created on their first authenticated request. */
@Entity({ name: "users" })
export class User {
  /** The Hanko user id (the session token's `sub`). */
  @PrimaryColumn({ type: "uuid" })
  id!: string;

  @Column({ type: "text", nullable: true })
  email!: string | null;

  @CreateDateColumn({ name: "created_at", type: "timestamptz", precision: 3 })
  createdAt!: Date;

  /** When the user and their tenant role were acknowledged by the policy decision point. */
  @Column({ name: "permit_synced_at", type: "timestamptz", nullable: true })
  permitSyncedAt!: Date | null;

  /** A replica that is syncing this user holds the claim until then (see authz/user-sync). */
  @Column({ name: "permit_sync_claimed_until", type: "timestamptz", nullable: true })
  permitSyncClaimedUntil!: Date | null;

  /** Set when Hanko reported the user deleted (webhook `user.delete`): their tokens are refused from then on. */
  @Column({ name: "deleted_at", type: "timestamptz", precision: 3, nullable: true })
  deletedAt!: Date | null;

  /** When a Hanko webhook last set the email; session tokens issued before it do not overwrite it. */
  @Column({ name: "email_updated_at", type: "timestamptz", precision: 3, nullable: true })
  emailUpdatedAt!: Date | null;
}
