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

const MODELS = ["rbac", "abac", "rebac"] as const;
const ENDPOINTS = ["allowed", "bulk"] as const;

/**
 * Held column by column, in arrays made once for the whole capacity: a bulk of 65 checks adds
 * 65 decisions, and as objects (a record, its resource, its codes, its models) they outlived
 * the young generation and made the PDP's garbage collection the largest part of a bulk's cost.
 * A record is built again only when read.
 */
export class DecisionLog {
  private readonly seqs: Float64Array;
  private readonly allows: Uint8Array;
  /** Index into ENDPOINTS. */
  private readonly endpoints: Uint8Array;
  /** Bit i set: MODELS[i] allowed. */
  private readonly allowedBy: Uint8Array;
  private readonly times: string[];
  private readonly users: string[];
  private readonly actions: string[];
  private readonly types: string[];
  private readonly keys: (string | undefined)[];
  private readonly tenants: (string | undefined)[];
  /** The reason code of each model, undefined for a model not evaluated. */
  private readonly codes: (string | undefined)[][];
  private next = 0;
  private seq = 0;

  constructor(readonly capacity: number) {
    const size = Math.max(0, capacity);
    this.seqs = new Float64Array(size);
    this.allows = new Uint8Array(size);
    this.endpoints = new Uint8Array(size);
    this.allowedBy = new Uint8Array(size);
    const column = <T>(): T[] => new Array<T>(size);
    this.times = column();
    this.users = column();
    this.actions = column();
    this.types = column();
    this.keys = column();
    this.tenants = column();
    this.codes = MODELS.map(() => column<string | undefined>());
  }

  add(record: Omit<DecisionRecord, "seq">): void {
    this.seq += 1;
    if (this.capacity <= 0) return;
    const i = this.next;
    this.seqs[i] = this.seq;
    this.allows[i] = record.allow ? 1 : 0;
    this.endpoints[i] = ENDPOINTS.indexOf(record.endpoint);
    let models = 0;
    for (let m = 0; m < MODELS.length; m++) {
      if (record.allowed_by.includes(MODELS[m]!)) models |= 1 << m;
      this.codes[m]![i] = record.codes[MODELS[m]!];
    }
    this.allowedBy[i] = models;
    this.times[i] = record.time;
    this.users[i] = record.user;
    this.actions[i] = record.action;
    this.types[i] = record.resource.type;
    this.keys[i] = record.resource.key;
    this.tenants[i] = record.resource.tenant;
    this.next = (i + 1) % this.capacity;
  }

  /** Sequence number of the latest decision (0 before the first). */
  lastSeq(): number {
    return this.seq;
  }

  query(filter: DecisionFilter): DecisionRecord[] {
    const out: DecisionRecord[] = [];
    const held = Math.min(this.seq, this.capacity);
    for (let back = 1; back <= held && out.length < filter.limit; back++) {
      const i = (this.next - back + this.capacity) % this.capacity;
      if (filter.since !== undefined && this.seqs[i]! <= filter.since) break;
      if (filter.user !== undefined && this.users[i] !== filter.user) continue;
      if (filter.action !== undefined && this.actions[i] !== filter.action) continue;
      if (filter.type !== undefined && this.types[i] !== filter.type) continue;
      if (filter.key !== undefined && this.keys[i] !== filter.key) continue;
      if (filter.tenant !== undefined && this.tenants[i] !== filter.tenant) continue;
      if (filter.allow !== undefined && (this.allows[i] === 1) !== filter.allow) continue;
      out.push(this.record(i));
    }
    return out;
  }

  private record(i: number): DecisionRecord {
    const codes: Record<string, string> = {};
    MODELS.forEach((model, m) => {
      const code = this.codes[m]![i];
      if (code !== undefined) codes[model] = code;
    });
    return {
      seq: this.seqs[i]!,
      time: this.times[i]!,
      endpoint: ENDPOINTS[this.endpoints[i]!]!,
      user: this.users[i]!,
      action: this.actions[i]!,
      resource: { type: this.types[i]!, key: this.keys[i], tenant: this.tenants[i] },
      allow: this.allows[i] === 1,
      allowed_by: MODELS.filter((_, m) => (this.allowedBy[i]! & (1 << m)) !== 0),
      codes,
    };
  }
}
