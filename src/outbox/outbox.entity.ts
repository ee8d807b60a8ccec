import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * Facts for the policy decision point, written in the same transaction as the change that
 * caused them and delivered (in id order, retried with backoff) until the PDP acknowledges.
 */
@Index("IDX_permit_outbox_pending", ["id"], { where: `"delivered_at" IS NULL` })
@Entity({ name: "permit_outbox" })
export class OutboxFact {
  @PrimaryGeneratedColumn({ type: "bigint" })
  id!: string;

  @Column({ type: "text" })
  kind!: string;

  @Column({ type: "jsonb" })
  payload!: Record<string, unknown>;

  @CreateDateColumn({ name: "created_at", type: "timestamptz", precision: 3 })
  createdAt!: Date;

  @Column({ type: "integer", default: 0 })
  attempts!: number;

  @Column({ name: "next_attempt_at", type: "timestamptz", precision: 3, default: () => "now()" })
  nextAttemptAt!: Date;

  @Column({ name: "last_error", type: "text", nullable: true })
  lastError!: string | null;

  @Column({ name: "delivered_at", type: "timestamptz", precision: 3, nullable: true })
  deliveredAt!: Date | null;
}
