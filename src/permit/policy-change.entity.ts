import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn } from "typeorm";

/**
 * The policy history: one row per `npm run permit:apply` that changed the environment, with
 * who ran it, where it went and what it changed (`npm run permit -- history` lists them).
 */
@Entity({ name: "policy_changes" })
export class PolicyChange {
  @PrimaryGeneratedColumn({ type: "bigint" })
  id!: string;

  @CreateDateColumn({ name: "applied_at", type: "timestamptz", precision: 3 })
  appliedAt!: Date;

  /** `--actor`, by default the OS user who ran the apply. */
  @Column({ type: "text" })
  actor!: string;

  /** Where the policy went: Permit's API URL and tenant (never a key). */
  @Column({ type: "text" })
  target!: string;

  /** What the apply changed: the objects it created, updated and removed, and whether it pruned. */
  @Column({ type: "jsonb" })
  summary!: PolicyChangeSummary;

  /** sha256 of the applied policy's canonical JSON: the same hash is the same policy. */
  @Column({ name: "policy_hash", type: "text" })
  policyHash!: string;
}

export interface PolicyChangeSummary {
  prune: boolean;
  created: string[];
  updated: string[];
  removed: string[];
  unchanged: number;
}
