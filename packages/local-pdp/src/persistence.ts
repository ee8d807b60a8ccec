/**
 * Durable state: a snapshot file plus an append-only journal of operations.
 *
 * - Every acknowledged write is in the journal and fsync'ed before the reply (group commit:
 *   writes that arrive while a flush is in progress share the next fsync).
 * - The snapshot is rewritten (temp file, fsync, rename, fsync of the directory) once the
 *   journal has grown as large as the snapshot, so the cost of a write stays proportional to
 *   the write, not to the size of the state.
 * - Every journal line carries a sequence number and the snapshot records the last one it
 *   contains, so a crash at any point of a compaction replays correctly.
 * - A torn final line (a write cut by a crash, never acknowledged) is dropped; anything else
 *   unreadable stops the start: an empty policy is never served in place of a corrupt one.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import type { Json } from "./model";
import type { Op } from "./ops/op";

const FORMAT = "permit-local-pdp-state";
const VERSION = 1;
/** By default compaction is never triggered by a journal smaller than this. */
export const DEFAULT_COMPACT_BYTES = 4 * 1024 * 1024;

export class StateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StateFileError";
  }
}

export interface Snapshot {
  seq: number;
  state: Record<string, unknown>;
}

export interface Recovered {
  snapshot?: Snapshot;
  ops: { seq: number; op: Op }[];
}

export interface PersistenceLogger {
  info(...a: unknown[]): void;
  warn(...a: unknown[]): void;
  error(...a: unknown[]): void;
}

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class Persistence {
  private seq: number;
  private journalBytes: number;
  private snapshotBytes: number;
  private pending: Pending[] = [];
  private flushing: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;

  private constructor(
    private readonly statePath: string,
    private readonly journal: fs.FileHandle,
    recovered: { seq: number; journalBytes: number; snapshotBytes: number },
    private readonly dump: () => Record<string, unknown>,
    private readonly logger: PersistenceLogger,
    private readonly compactAtBytes: number,
  ) {
    this.seq = recovered.seq;
    this.journalBytes = recovered.journalBytes;
    this.snapshotBytes = recovered.snapshotBytes;
  }

  static journalPath(statePath: string): string {
    return `${statePath}.journal`;
  }

  /** Reads the snapshot and the journal; throws StateFileError when either is unreadable. */
  static async recover(statePath: string): Promise<Recovered & { journalBytes: number; snapshotBytes: number; lastSeq: number }> {
    await fs.mkdir(path.dirname(statePath), { recursive: true });
    await fs.rm(`${statePath}.tmp`, { force: true });

    let snapshot: Snapshot | undefined;
    let snapshotBytes = 0;
    const text = await readIfExists(statePath);
    if (text !== undefined) {
      snapshotBytes = Buffer.byteLength(text);
      snapshot = parseSnapshot(statePath, text);
    }

    const journalPath = Persistence.journalPath(statePath);
    const journalText = (await readIfExists(journalPath)) ?? "";
    const ops: { seq: number; op: Op }[] = [];
    const base = snapshot?.seq ?? 0;
    let lastSeq = base;
    let previous: number | undefined;
    let goodBytes = 0;
    let offset = 0;
    while (offset < journalText.length) {
      const end = journalText.indexOf("\n", offset);
      const complete = end !== -1;
      const line = journalText.slice(offset, complete ? end : journalText.length);
      const entry = parseJournalLine(line);
      if (!entry) {
        if (!complete) break; // torn tail: the write was never acknowledged
        throw new StateFileError(
          `Local PDP journal ${journalPath} is corrupt at byte ${Buffer.byteLength(journalText.slice(0, offset))}; ` +
            "refusing to start with a partial policy. Restore the state from a backup, or remove both files to start empty.",
        );
      }
      if (previous === undefined ? entry.seq > base + 1 : entry.seq !== previous + 1) {
        throw new StateFileError(`Local PDP journal ${journalPath} has a gap before entry ${entry.seq}; refusing to start.`);
      }
      previous = entry.seq;
      if (entry.seq > base) {
        ops.push(entry);
        lastSeq = entry.seq;
      }
      offset = complete ? end + 1 : journalText.length;
      goodBytes = Buffer.byteLength(journalText.slice(0, offset));
    }
    if (goodBytes < Buffer.byteLength(journalText)) await fs.truncate(journalPath, goodBytes);
    return { snapshot, ops, journalBytes: goodBytes, snapshotBytes, lastSeq };
  }

  static async open(
    statePath: string,
    recovered: { lastSeq: number; journalBytes: number; snapshotBytes: number },
    dump: () => Record<string, unknown>,
    logger: PersistenceLogger,
    compactAtBytes: number = DEFAULT_COMPACT_BYTES,
  ): Promise<Persistence> {
    const journal = await fs.open(Persistence.journalPath(statePath), "a");
    return new Persistence(
      statePath,
      journal,
      { seq: recovered.lastSeq, journalBytes: recovered.journalBytes, snapshotBytes: recovered.snapshotBytes },
      dump,
      logger,
      compactAtBytes,
    );
  }

  /**
   * Appends one applied operation; resolves once it is on disk. Must be called in the same
   * tick as the operation was applied, so that sequence numbers follow the in-memory order.
   */
  append(op: Op): Promise<void> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error("local PDP state is closed"));
    this.seq += 1;
    const line = `${JSON.stringify({ seq: this.seq, op })}\n`;
    return new Promise<void>((resolve, reject) => {
      this.pending.push({ line, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.flushing) return;
    this.flushing = this.flushLoop().finally(() => {
      this.flushing = undefined;
      if (this.pending.length > 0 && !this.failure) this.kick();
    });
  }

  private async flushLoop(): Promise<void> {
    while (this.pending.length > 0 && !this.failure) {
      const batch = this.pending.splice(0);
      const data = batch.map((p) => p.line).join("");
      try {
        await this.journal.write(data);
        await this.journal.datasync();
        this.journalBytes += Buffer.byteLength(data);
      } catch (err) {
        this.fail(err, batch);
        return;
      }
      for (const p of batch) p.resolve();
      if (this.journalBytes >= Math.max(this.compactAtBytes, this.snapshotBytes)) {
        try {
          await this.compact();
        } catch (err) {
          // The journal still holds everything: a failed compaction loses nothing.
          this.logger.warn({ err }, "local PDP: snapshot compaction failed; the journal keeps growing");
        }
      }
    }
  }

  private fail(err: unknown, batch: Pending[]): void {
    this.failure = err instanceof Error ? err : new Error(String(err));
    this.logger.error({ err: this.failure }, "local PDP: writing the journal failed; further writes are refused");
    for (const p of [...batch, ...this.pending.splice(0)]) p.reject(this.failure);
  }

  /** Rewrites the snapshot from memory and empties the journal. */
  private async compact(): Promise<void> {
    // Serialised in the same tick as reading `seq`: the snapshot holds exactly ops 1..seq.
    const seq = this.seq;
    const text = JSON.stringify({ format: FORMAT, version: VERSION, seq, state: this.dump() });
    const tmp = `${this.statePath}.tmp`;
    const handle = await fs.open(tmp, "w");
    try {
      await handle.write(text);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, this.statePath);
    await syncDirectory(path.dirname(this.statePath));
    // Lines still in the journal with seq <= snapshot seq are skipped on replay, so the
    // truncation can come after the rename without a window of loss.
    await this.journal.truncate(0);
    await this.journal.sync();
    this.journalBytes = 0;
    this.snapshotBytes = Buffer.byteLength(text);
  }

  /** Waits for pending writes, writes a final snapshot and closes the journal. */
  async close(): Promise<void> {
    if (this.closed) return;
    // Refuse new appends first, then let the writes already accepted reach the disk.
    this.closed = true;
    while (this.flushing) await this.flushing;
    try {
      if (!this.failure && this.journalBytes > 0) await this.compact();
    } catch (err) {
      this.logger.warn({ err }, "local PDP: final snapshot failed; the journal is kept");
    } finally {
      await this.journal.close();
    }
  }
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new StateFileError(`Local PDP state ${file} cannot be read: ${(err as Error).message}`);
  }
}

function parseSnapshot(file: string, text: string): Snapshot {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(
      `Local PDP state file ${file} is corrupt (${(err as Error).message}); refusing to start with an empty policy. ` +
        "Restore it from a backup, or remove it (and its .journal) to start empty.",
    );
  }
  const v = value as { format?: unknown; version?: unknown; seq?: unknown; state?: unknown };
  if (typeof value !== "object" || value === null || v.format !== FORMAT) {
    throw new StateFileError(`Local PDP state file ${file} is not a local PDP state file; refusing to start.`);
  }
  if (v.version !== VERSION) throw new StateFileError(`Local PDP state file ${file} has unsupported version ${String(v.version)}.`);
  if (typeof v.seq !== "number" || typeof v.state !== "object" || v.state === null) {
    throw new StateFileError(`Local PDP state file ${file} is incomplete; refusing to start.`);
  }
  return { seq: v.seq, state: v.state as Record<string, unknown> };
}

function parseJournalLine(line: string): { seq: number; op: Op } | undefined {
  let value: Json;
  try {
    value = JSON.parse(line) as Json;
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return undefined;
  const { seq, op } = value;
  if (typeof seq !== "number" || typeof op !== "object" || op === null || Array.isArray(op)) return undefined;
  if (typeof op.t !== "string" || typeof op.at !== "string") return undefined;
  return { seq, op: op as unknown as Op };
}

async function syncDirectory(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, "r");
    await handle.sync();
  } catch {
    // Some platforms cannot fsync a directory; the rename is still atomic there.
  } finally {
    await handle?.close();
  }
}
