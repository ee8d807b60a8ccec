import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from "typeorm";

/**
 * Facts for the policy decision point, written in the same transaction as the change that
 * caused them and delivered (in id order per object, retried with backoff) until the PDP
 * acknowledges, or until it has refused one so often that it is stuck (outbox/delivery.ts).
 */
@Index("IDX_permit_outbox_pending", ["id"], { where: `"delivered_at" IS NULL` })
@Index("IDX_permit_outbox_stuck", ["id"], { where: `"delivered_at" IS NULL AND "stuck_at" IS NOT NULL` })
@Entity({ name: "permit_outbox" })
export class OutboxFact {
  @PrimaryGeneratedColumn({ type: "bigint" })
  id!: string;

  @Column({ type: "text" })
  kind!: string;

  @Column({ type: "jsonb" })
  payload!: Record<string, unknown>;

  /** Every object the fact concerns (`workspaces:…`, `notes:…`, `users:…`; outbox/facts.ts#objectsOf). */
  @Column({ name: "object_keys", type: "text", array: true })
  objectKeys!: string[];

  /** The objects among them that it changes; it only relies on the others. */
  @Column({ name: "changed_keys", type: "text", array: true })
  changedKeys!: string[];

  @CreateDateColumn({ name: "created_at", type: "timestamptz", precision: 3 })
  createdAt!: Date;

  @Column({ type: "integer", default: 0 })
  attempts!: number;

  @Column({ name: "next_attempt_at", type: "timestamptz", precision: 3, default: () => "now()" })
  nextAttemptAt!: Date;

  /** Times the PDP refused the fact itself (a 4xx other than those that mean "done"). */
  @Column({ type: "integer", default: 0 })
  rejections!: number;

  @Column({ name: "last_error", type: "text", nullable: true })
  lastError!: string | null;

  /** Set once the fact was refused too often: it is not tried again until an operator retries or skips it. */
  @Column({ name: "stuck_at", type: "timestamptz", precision: 3, nullable: true })
  stuckAt!: Date | null;

  @Column({ name: "delivered_at", type: "timestamptz", precision: 3, nullable: true })
  deliveredAt!: Date | null;
}
