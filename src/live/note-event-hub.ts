/**
 * Live note events on one replica. A dedicated connection LISTENs for the changes every
 * replica announces in its write transactions (notes/note-events.ts); the changes that arrive
 * together are handled as one batch:
 *
 *   1. once the PDP has the facts the changes recorded (a new note's tuple to its workspace),
 *      the rows of created and updated notes are loaded in one query;
 *   2. `get` on each note is decided for every subscriber on this replica it could reach, in
 *      ONE bulk PDP call (one check per user and note, shared by that user's subscriptions) —
 *      except a deletion, whose readers the writer decided before deleting (deletion-readers.ts)
 *      and the notification carries;
 *   3. each subscriber receives the events it may read, in commit order.
 *
 * The users this replica serves are kept in the subscriber registry, where writers find them.
 *
 * If the PDP cannot decide, nothing of that batch is delivered: every subscriber it could
 * have reached gets an AUTHZ_UNAVAILABLE error on its stream instead, and stays subscribed.
 */
import { FixedBuffer, Repeater } from "@repeaterjs/repeater";
import type { NoteReadCheck, NoteReadDecider } from "../authz/note-events";
import { authzUnavailable, databaseUnavailable, isAppError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import { listen, type Listener } from "../db/listen";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Note } from "../notes/note.entity";
import { NOTE_CHANGES_CHANNEL, NoteEventKind, parseNoteChange, type NoteChange } from "../notes/note-events";
import type { SubscriberRegistry } from "./subscriber-registry";

export interface NoteEvent {
  kind: NoteEventKind;
  noteId: string;
  /** The version of the note delivered (for DELETED, its last version). */
  version: number;
  /** The note as loaded after the change; null for DELETED. */
  note: Note | null;
  at: Date;
}

/** What a subscription's stream yields: an event, or the error that stands for an undeliverable one. */
export type NoteEventDelivery = { event: NoteEvent } | { error: Error };

export interface NoteEventFilter {
  userId: string;
  /** Only this workspace's notes; null for every note the user may read. */
  workspaceId: string | null;
}

export interface NoteEventSource {
  /** A stream of the events the user may read, from now on, until it is returned. */
  stream(filter: NoteEventFilter): AsyncIterableIterator<NoteEventDelivery>;
}

export interface NoteEventHubOptions {
  databaseUrl: string;
  /** Loads notes by id (one query for a batch). */
  loadNotes(ids: readonly string[]): Promise<Note[]>;
  decide: NoteReadDecider;
  /**
   * Waits until these facts are acknowledged by the PDP (or a bound passes): a change is
   * decided on the facts it recorded (outbox/delivery.ts#deliver).
   */
  awaitFacts(factIds: string[]): Promise<boolean>;
  /** Where writers find who is subscribed (to decide a deletion's readers). */
  registry?: Pick<SubscriberRegistry, "add" | "remove">;
  logger: Logger;
  metrics?: Pick<Metrics, "liveSubscriptions" | "noteEvents">;
  /** Events a subscriber may have waiting before it is ended as too slow (default 1000). */
  bufferSize?: number;
}

interface Subscriber extends NoteEventFilter {
  push(delivery: NoteEventDelivery): void;
}

/** Changes handled in one batch at most; more wait for the next. */
const MAX_BATCH = 500;

export class NoteEventHub implements NoteEventSource {
  private readonly subscribers = new Set<Subscriber>();
  private readonly pending: NoteChange[] = [];
  private scheduled = false;
  private pumping: Promise<void> | null = null;
  private listener: Listener | null = null;
  /** What this replica has handled since it started: batches, changes, checks and PDP calls. */
  readonly stats = { batches: 0, changes: 0, checks: 0, pdpCalls: 0, delivered: 0 };

  constructor(private readonly options: NoteEventHubOptions) {}

  /** Starts listening; resolves once notifications are received. */
  async start(): Promise<void> {
    this.listener = listen({
      databaseUrl: this.options.databaseUrl,
      channel: NOTE_CHANGES_CHANNEL,
      logger: this.options.logger,
      onNotification: (payload) => this.receive(payload),
      onReconnect: () => this.options.logger.warn({ subscribers: this.subscribers.size }, "note events announced while the listener was away were missed"),
    });
    await this.listener.ready;
  }

  async stop(): Promise<void> {
    await this.listener?.close();
    this.listener = null;
    await this.pumping;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  stream(filter: NoteEventFilter): AsyncIterableIterator<NoteEventDelivery> {
    return new Repeater<NoteEventDelivery>(async (push, stop) => {
      const subscriber: Subscriber = {
        userId: filter.userId,
        workspaceId: filter.workspaceId,
        push: (delivery) => {
          // A full buffer means the client does not read: its stream ends rather than grow without bound.
          const tooSlow = () => stop(new Error("The subscription fell too far behind its events and was ended."));
          try {
            push(delivery).catch(tooSlow);
          } catch {
            tooSlow();
          }
        },
      };
      // Registered before it receives anything: a deletion decided from now on counts it.
      await this.options.registry?.add(filter.userId, filter.workspaceId);
      this.subscribers.add(subscriber);
      this.options.metrics?.liveSubscriptions.inc();
      await stop;
      this.subscribers.delete(subscriber);
      this.options.metrics?.liveSubscriptions.dec();
      await this.options.registry?.remove(filter.userId, filter.workspaceId);
    }, new FixedBuffer(this.options.bufferSize ?? 1000));
  }

  private receive(payload: string | undefined): void {
    const change = parseNoteChange(payload);
    if (!change) {
      this.options.logger.warn({ channel: NOTE_CHANGES_CHANNEL }, "ignored a note change notification that is not one");
      return;
    }
    if (this.subscribers.size === 0) return;
    this.pending.push(change);
    if (this.scheduled) return;
    this.scheduled = true;
    // Notifications that arrive in the same read are handled together.
    setImmediate(() => {
      this.scheduled = false;
      this.pumping ??= this.pump().finally(() => (this.pumping = null));
    });
  }

  /** Handles the pending changes batch by batch, in order; changes arriving meanwhile join the next batch. */
  private async pump(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, nextBatchSize(this.pending));
      try {
        await this.dispatch(batch);
      } catch (error) {
        this.options.logger.error({ err: error, changes: batch.length }, "note events could not be dispatched");
      }
    }
  }

  private async dispatch(batch: NoteChange[]): Promise<void> {
    if (this.subscribers.size === 0) return;
    const factIds = batch.flatMap((c) => c.factIds);
    if (factIds.length > 0 && !(await this.options.awaitFacts(factIds).catch(() => false))) {
      // Decided anyway: the facts a change waits for only add access (a new note's tuple), so without them the PDP denies more, never allows more.
      this.options.logger.warn({ facts: factIds.length }, "note events decided before the PDP acknowledged their facts");
    }
    const subscribers = [...this.subscribers];
    // Created and updated notes as stored now (a deleted one is skipped: its DELETED event follows).
    const loadIds = [...new Set(batch.filter((c) => c.kind !== NoteEventKind.DELETED).map((c) => c.noteId))];
    let rows: Map<string, Note>;
    try {
      rows = new Map((loadIds.length > 0 ? await this.options.loadNotes(loadIds) : []).map((n) => [n.id, n]));
    } catch (error) {
      // Not delivered, and said so on every stream: a client re-reads once the database is back.
      this.options.logger.error({ err: error, changes: batch.length }, "note events could not load their notes");
      const unavailable = isDatabaseUnavailable(error) ? databaseUnavailable(error) : new Error("note events could not be loaded");
      for (const s of subscribers) s.push({ error: unavailable });
      this.options.metrics?.noteEvents.inc({ outcome: "unavailable" }, subscribers.length);
      return;
    }
    /** `readers`: decided by the writer (a deletion; null: it could not decide); undefined: decided here. */
    const events: { event: NoteEvent; subject: NoteReadCheck["note"]; reach: Subscriber[]; readers?: ReadonlySet<string> | null }[] = [];
    for (const change of batch) {
      const note = change.kind === NoteEventKind.DELETED ? null : rows.get(change.noteId);
      if (note === undefined) continue;
      const subject = note ?? { id: change.noteId, ownerId: change.ownerId, workspaceId: change.workspaceId };
      const reach = subscribers.filter((s) => s.workspaceId === null || s.workspaceId === subject.workspaceId);
      if (reach.length === 0) continue;
      const version = note ? note.version : change.version;
      const readers = change.readers === undefined ? undefined : change.readers === null ? null : new Set(change.readers);
      events.push({ event: { kind: change.kind, noteId: change.noteId, version, note, at: change.at }, subject, reach, readers });
    }
    if (events.length === 0) return;

    // One check per (user, note): a user's subscriptions share it.
    const checks: NoteReadCheck[] = [];
    const index = new Map<string, number>();
    const keyOf = (userId: string, noteId: string) => `${userId} ${noteId}`;
    for (const { subject, reach, readers } of events) {
      if (readers !== undefined) continue;
      for (const s of reach) {
        const key = keyOf(s.userId, subject.id);
        if (index.has(key)) continue;
        index.set(key, checks.length);
        checks.push({ userId: s.userId, note: subject });
      }
    }
    this.stats.batches += 1;
    this.stats.changes += batch.length;
    this.stats.checks += checks.length;
    let decisions: boolean[] = [];
    if (checks.length > 0) {
      this.stats.pdpCalls += 1;
      try {
        decisions = await this.options.decide(checks);
      } catch (error) {
        const unavailable = isAppError(error) ? error : new Error("note events could not be authorized");
        const reached = new Set(events.flatMap((e) => e.reach));
        for (const s of reached) s.push({ error: unavailable });
        this.options.metrics?.noteEvents.inc({ outcome: "unavailable" }, reached.size);
        return;
      }
    }
    let delivered = 0;
    let denied = 0;
    let undecided = 0;
    for (const { event, subject, reach, readers } of events) {
      for (const s of reach) {
        if (readers === null) {
          // The writer could not decide who could read the note: nobody gets it unchecked.
          s.push({ error: authzUnavailable(new Error("the readers of a deleted note could not be decided")) });
          undecided += 1;
        } else if (readers ? !readers.has(s.userId) : !decisions[index.get(keyOf(s.userId, subject.id))!]) {
          denied += 1;
        } else if (this.subscribers.has(s)) {
          // Only a subscriber still subscribed: one that left while the batch was decided gets nothing.
          s.push({ event });
          delivered += 1;
        }
      }
    }
    this.stats.delivered += delivered;
    this.options.metrics?.noteEvents.inc({ outcome: "delivered" }, delivered);
    this.options.metrics?.noteEvents.inc({ outcome: "denied" }, denied);
    if (undecided > 0) this.options.metrics?.noteEvents.inc({ outcome: "unavailable" }, undecided);
  }
}

/**
 * How many of the pending changes form the next batch: at most MAX_BATCH, and never a change
 * that waits for facts together with a deletion this replica decides (one announced without
 * its readers, e.g. a note created while its owner was being deleted): that deletion is decided
 * on what the PDP knows before its own facts reach it, so it must not wait behind another
 * change's facts.
 */
function nextBatchSize(pending: readonly NoteChange[]): number {
  let waits = false;
  let deletes = false;
  for (let i = 0; i < Math.min(pending.length, MAX_BATCH); i++) {
    const change = pending[i]!;
    waits ||= change.factIds.length > 0;
    deletes ||= change.kind === NoteEventKind.DELETED && change.readers === undefined;
    if (waits && deletes) return Math.max(i, 1);
  }
  return Math.min(pending.length, MAX_BATCH);
}
