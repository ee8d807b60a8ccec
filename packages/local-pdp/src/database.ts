/**
 * The store plus its durability: `execute` applies one operation atomically in memory and
 * resolves once it is durable. Decisions read the store directly and never wait for disk.
 */
import { ApiError } from "./errors";
import { compileConditions } from "./conditions";
import { DEFAULT_TENANT } from "./model";
import { applyOp } from "./ops/apply";
import type { Op, OpBody } from "./ops/op";
import { Persistence, StateFileError, type PersistenceLogger } from "./persistence";
import { Store } from "./store";

const STATE_ARRAYS = ["resources", "roles", "conditionSets", "setRules", "tenants", "users", "instances", "assignments", "tuples"] as const;

export class Database {
  private constructor(
    readonly store: Store,
    private readonly persistence: Persistence | undefined,
  ) {}

  /** Opens the state at `statePath` (or an in-memory state), replaying the journal. */
  static async open(statePath: string | undefined, logger: PersistenceLogger, options: { compactAtBytes?: number } = {}): Promise<Database> {
    const store = new Store();
    if (statePath === undefined) {
      const db = new Database(store, undefined);
      await db.execute({ t: "tenant.create", key: DEFAULT_TENANT, name: "Default Tenant" });
      return db;
    }
    const recovered = await Persistence.recover(statePath);
    if (recovered.snapshot) loadSnapshot(store, statePath, recovered.snapshot.state);
    for (const { seq, op } of recovered.ops) {
      try {
        store.transaction(() => applyOp(store, op));
      } catch (err) {
        throw new StateFileError(`Local PDP journal entry ${seq} (${op.t}) cannot be replayed: ${(err as Error).message}; refusing to start.`);
      }
    }
    const persistence = await Persistence.open(statePath, recovered, () => store.dump(), logger, options.compactAtBytes);
    const db = new Database(store, persistence);
    const fresh = !recovered.snapshot && recovered.ops.length === 0;
    if (fresh) await db.execute({ t: "tenant.create", key: DEFAULT_TENANT, name: "Default Tenant" });
    logger.info(
      { statePath, replayed: recovered.ops.length, facts: store.size() },
      fresh ? "local PDP: new state created" : "local PDP: state loaded",
    );
    return db;
  }

  /** Applies one write; rejects with ApiError on bad input (nothing changed) or 503 if it cannot be made durable. */
  async execute<T = unknown>(body: OpBody): Promise<T> {
    const op = { ...body, at: new Date().toISOString() } as Op;
    const { result, changed } = this.store.transaction(() => applyOp(this.store, op));
    if (changed && this.persistence) {
      try {
        await this.persistence.append(op);
      } catch (err) {
        throw new ApiError(503, "UNAVAILABLE", `the local PDP could not persist this change: ${(err as Error).message}`);
      }
    }
    return result as T;
  }

  async close(): Promise<void> {
    await this.persistence?.close();
  }
}

function loadSnapshot(store: Store, statePath: string, state: Record<string, unknown>): void {
  for (const name of STATE_ARRAYS) {
    const value = state[name];
    if (!Array.isArray(value) || value.some((item) => typeof item !== "object" || item === null)) {
      throw new StateFileError(`Local PDP state file ${statePath} is corrupt ("${name}" is not a list of records); refusing to start.`);
    }
  }
  if (typeof state.counter !== "number") throw new StateFileError(`Local PDP state file ${statePath} is corrupt (no counter); refusing to start.`);
  store.load(state as unknown as Parameters<Store["load"]>[0]);
  for (const set of store.conditionSets.values()) {
    try {
      compileConditions(set.conditions);
    } catch (err) {
      throw new StateFileError(`Local PDP state file ${statePath}: condition set '${set.key}' is invalid (${(err as Error).message}).`);
    }
  }
}
