/**
 * The local audit log: the most recent decisions in a fixed-size ring buffer, so memory stays
 * bounded however many checks are made. Read newest first, with filters.
 */
export interface DecisionRecord {
  seq: number;
  time: string;
  endpoint: "allowed" | "bulk";
  user: string;
  action: string;
  resource: { type: string; key?: string; tenant?: string };
  allow: boolean;
  /** Models that allowed ("rbac", "abac", "rebac"); empty on deny. */
  allowed_by: string[];
  /** Reason code per evaluated model, e.g. {rbac: "no_permission", abac: "allow"}. */
  codes: Record<string, string>;
}

export interface DecisionFilter {
  user?: string;
  action?: string;
  type?: string;
  key?: string;
  tenant?: string;
  allow?: boolean;
  /** Only decisions with seq greater than this. */
  since?: number;
  limit: number;
}

export class DecisionLog {
  private readonly buffer: (DecisionRecord | undefined)[];
  private next = 0;
  private seq = 0;

  constructor(readonly capacity: number) {
    this.buffer = new Array<DecisionRecord | undefined>(Math.max(0, capacity));
  }

  add(record: Omit<DecisionRecord, "seq">): void {
    this.seq += 1;
    if (this.capacity <= 0) return;
    this.buffer[this.next] = { seq: this.seq, ...record };
    this.next = (this.next + 1) % this.capacity;
  }

  /** Sequence number of the latest decision (0 before the first). */
  lastSeq(): number {
    return this.seq;
  }

  query(filter: DecisionFilter): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    for (let i = 1; i <= this.capacity && out.length < filter.limit; i++) {
      const record = this.buffer[(this.next - i + this.capacity) % this.capacity];
      if (!record) break;
      if (filter.since !== undefined && record.seq <= filter.since) break;
      if (filter.user !== undefined && record.user !== filter.user) continue;
      if (filter.action !== undefined && record.action !== filter.action) continue;
      if (filter.type !== undefined && record.resource.type !== filter.type) continue;
      if (filter.key !== undefined && record.resource.key !== filter.key) continue;
      if (filter.tenant !== undefined && record.resource.tenant !== filter.tenant) continue;
      if (filter.allow !== undefined && record.allow !== filter.allow) continue;
      out.push(record);
    }
    return out;
  }
}
