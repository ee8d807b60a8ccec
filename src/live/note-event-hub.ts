/**
 * Live note events on one replica, read from the change log (changes/change-log.ts). Writers
 * NOTIFY at commit, which only wakes the hub: it reads the log from its own position, so a
 * notification lost while the listener reconnects, or during a restart, delays events and never
 * loses them. The changes read together are handled as one batch:
 *
 *   1. once the PDP has the facts the changes recorded (a new note's tuple to its workspace),
 *      the rows of created and updated notes are loaded in one query;
 *   2. `get` on each note is decided for every live subscriber it could reach, in ONE bulk PDP
 *      call (one check per user and note, shared by that user's subscriptions); a deletion goes
 *      without a check to the audience its writer decided, and is asked for the rest;
 *   3. each subscriber receives the events it may read, in log order, each with its cursor.
 *
 * A subscription with `after` first replays the log from that cursor through the feed
 * (changes/change-feed.ts, decided like `noteChanges`), then goes live at a position at or past
 * the hub's: the hub sends it only what lies beyond where its replay ended, so the hand-over
 * has no gap and no duplicate. Without `after` it starts at the log's head.
 *
 * If the PDP cannot decide, nothing of that batch is delivered: every subscriber it could
 * have reached gets an AUTHZ_UNAVAILABLE error on its stream instead, and stays subscribed.
 */
import type { NoteReadCheck, NoteReadDecider } from "../authz/note-events";
import { authzUnavailable, databaseUnavailable, isAppError } from "../common/errors";
import type { Logger } from "../common/logger";
import type { Metrics } from "../common/metrics";
import { comparePositions, NOTE_CHANGES_CHANNEL, NoteChangeKind, type ChangePosition, type LoggedChange } from "../changes/change-log";
import type { ChangeCursorCodec } from "../changes/change-cursor";
import type { FeedRead } from "../changes/change-feed";
import type { ChangeLogRepository } from "../changes/change-log.repository";
import { listen, type Listener } from "../db/listen";
import { SubscriberStream } from "./subscriber-stream";
import { isDatabaseUnavailable } from "../db/unavailable";
import type { Note } from "../notes/note.entity";

export type NoteEventKind = "CREATED" | "UPDATED" | "DELETED";

export interface NoteEvent {
  kind: NoteEventKind;
  noteId: string;
  /** The version of the note delivered (for DELETED, its last version). */
  version: number;
  /** The note as loaded after the change; null for DELETED. */
  note: Note | null;
  at: Date;
  /** Resumes after this event (noteEvents or noteChanges). */
  cursor: string;
}

/** What a subscription's stream yields: an event, or the error that stands for an undeliverable one. */
export type NoteEventDelivery = { event: NoteEvent } | { error: Error };

export interface NoteEventFilter {
  userId: string;
  /** Only this workspace's notes; null for every note the user may read. */
  workspaceId: string | null;
}

export interface NoteEventStreamOptions extends NoteEventFilter {
  /** Replay from here first (a decoded cursor); undefined: start at the head. */
  after?: ChangePosition;
  /** Reads what the subscriber may see after a position, decided for it (ChangeFeed#read). */
  replay(from: ChangePosition): Promise<FeedRead>;
}

export interface NoteEventSource {
  /** A stream of the events the user may read, after `after` or from now on, until it is returned. */
  stream(options: NoteEventStreamOptions): AsyncIterableIterator<NoteEventDelivery>;
}

export interface NoteEventHubOptions {
  databaseUrl: string;
  log: ChangeLogRepository;
  cursors: ChangeCursorCodec;
  /** Loads notes by id (one query for a batch). */
  loadNotes(ids: readonly string[]): Promise<Note[]>;
  decide: NoteReadDecider;
  /**
   * Waits until these facts are acknowledged by the PDP (or a bound passes): a change is
   * decided on the facts it recorded (outbox/delivery.ts#deliver).
   */
  awaitFacts(factIds: string[]): Promise<boolean>;
  logger: Logger;
  metrics?: Pick<Metrics, "liveSubscriptions" | "noteEvents">;
  /** Events a subscriber may have waiting before it is ended as too slow (default 1000). */
  bufferSize?: number;
  /** How often the log is read with no wake-up, while anyone is subscribed (default 2000 ms). */
  pollMs?: number;
}

interface Subscriber extends NoteEventFilter {
  /** Live from the log position after this one. */
  after: ChangePosition;
  push(delivery: NoteEventDelivery): void;
}

/** Changes handled in one batch at most; more are read in the next. */
const MAX_BATCH = 500;
/** How soon the log is read again when a change was announced but an older transaction still holds the horizon. */
const HELD_BACK_RETRY_MS = 20;
/** How long a replay that failed waits before it tries again. */
const REPLAY_RETRY_MS = 1000;

export class NoteEventHub implements NoteEventSource {
  private readonly subscribers = new Set<Subscriber>();
  /** Where the hub has read the log up to; null while nobody is live. */
  private tail: ChangePosition | null = null;
  /** The newest transaction a notification announced. */
  private announced = 0n;
  private scheduled = false;
  private again = false;
  private pumping: Promise<void> | null = null;
  private listener: Listener | null = null;
  private poll: NodeJS.Timeout | undefined;
  private retry: NodeJS.Timeout | undefined;
  private stopped = false;
  /** What this replica has handled since it started: batches, changes, checks and PDP calls. */
  readonly stats = { batches: 0, changes: 0, checks: 0, pdpCalls: 0, delivered: 0 };

  constructor(private readonly options: NoteEventHubOptions) {}

  /** Starts listening; resolves once notifications are received. */
  async start(): Promise<void> {
    this.listener = listen({
      databaseUrl: this.options.databaseUrl,
      channel: NOTE_CHANGES_CHANNEL,
      logger: this.options.logger,
      onNotification: (payload) => this.wake(payload),
      // Nothing was lost: the log still has what was announced meanwhile.
      onReconnect: () => this.wake(undefined),
    });
    await this.listener.ready;
    this.poll = setInterval(() => this.subscribers.size > 0 && this.wake(undefined), this.options.pollMs ?? 2000);
    this.poll.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.poll);
    clearTimeout(this.retry);
    await this.listener?.close();
    this.listener = null;
    await this.pumping;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  stream(options: NoteEventStreamOptions): AsyncIterableIterator<NoteEventDelivery> {
    let live: Subscriber | null = null;
    const stream = new SubscriberStream<NoteEventDelivery>(this.options.bufferSize ?? 1000, () => {
      if (!live) return;
      this.subscribers.delete(live);
      if (this.subscribers.size === 0) this.tail = null;
      this.options.metrics?.liveSubscriptions.dec();
    });
    void this.replay(options, (delivery) => stream.push(delivery), () => stream.ended).then((subscriber) => {
      if (!subscriber) return stream.end();
      // Ended between joining and here: leave at once.
      if (stream.ended) {
        this.subscribers.delete(subscriber);
        if (this.subscribers.size === 0) this.tail = null;
        return;
      }
      live = subscriber;
      this.options.metrics?.liveSubscriptions.inc();
    });
    return stream;
  }

  /**
   * Sends what the log holds after the subscriber's position, then makes it live at a position
   * at or past the hub's (checked and joined in one synchronous step, so no batch read in
   * between is missed). Null when the stream ended meanwhile.
   */
  private async replay(options: NoteEventStreamOptions, send: (d: NoteEventDelivery) => void, ended: () => boolean): Promise<Subscriber | null> {
    let position = options.after;
    while (!ended() && !this.stopped) {
      try {
        position ??= await this.options.log.head();
        const read = await options.replay(position);
        for (const change of read.changes) {
          if (change.kind === NoteChangeKind.WORKSPACE_GRANTED || change.kind === NoteChangeKind.WORKSPACE_REVOKED) continue;
          const cursor = this.options.cursors.encode(change.position, options.userId);
          send({ event: { kind: change.kind, noteId: change.noteId!, version: change.note?.version ?? change.version!, note: change.note, at: change.at, cursor } });
        }
        position = read.position;
        if (read.hasMore || ended()) continue;
        if (this.tail === null || comparePositions(position, this.tail) >= 0) {
          this.tail ??= position;
          const subscriber: Subscriber = { userId: options.userId, workspaceId: options.workspaceId, after: position, push: send };
          this.subscribers.add(subscriber);
          return subscriber;
        }
      } catch (error) {
        // Said on the stream, and tried again from the same position: nothing is skipped.
        send({ error: isAppError(error) ? error : isDatabaseUnavailable(error) ? databaseUnavailable(error) : new Error("note events could not be replayed") });
        if (isAppError(error) && error.code !== "AUTHZ_UNAVAILABLE" && error.code !== "DATABASE_UNAVAILABLE") return null;
        await new Promise((resolve) => setTimeout(resolve, REPLAY_RETRY_MS).unref());
      }
    }
    return null;
  }

  private wake(payload: string | undefined): void {
    if (payload && /^\d{1,20}$/.test(payload)) {
      const tx = BigInt(payload);
      if (tx > this.announced) this.announced = tx;
    }
    if (this.subscribers.size === 0) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    if (this.scheduled) return;
    this.scheduled = true;
    // Notifications that arrive in the same read are handled together.
    setImmediate(() => {
      this.scheduled = false;
      this.pumping ??= this.pump().finally(() => {
        this.pumping = null;
        if (this.again) {
          this.again = false;
          this.wake(undefined);
        }
      });
    });
  }

  /** Reads the log batch by batch from the hub's position and dispatches each batch, in order. */
  private async pump(): Promise<void> {
    while (!this.stopped && this.tail !== null && this.subscribers.size > 0) {
      const from = this.tail;
      let read;
      try {
        read = await this.options.log.read(from, MAX_BATCH);
      } catch (error) {
        this.options.logger.error({ err: error }, "the change log could not be read; retrying at the next wake-up");
        return;
      }
      if (this.tail === null) return;
      const last = read.changes.at(-1)?.position;
      const full = read.changes.length === MAX_BATCH;
      // Set before dispatching: a replay that reaches this position joins and needs nothing of this batch.
      this.tail = full ? last! : [from, last ?? from, read.end ?? from].reduce((a, b) => (comparePositions(a, b) >= 0 ? a : b));
      if (read.changes.length > 0) {
        try {
          await this.dispatch(read.changes);
        } catch (error) {
          this.options.logger.error({ err: error, changes: read.changes.length }, "note events could not be dispatched");
        }
      }
      if (full) continue;
      if (this.announced > this.tail.tx) {
        // Announced but not readable yet: an older transaction is still in flight below it.
        clearTimeout(this.retry);
        this.retry = setTimeout(() => this.wake(undefined), HELD_BACK_RETRY_MS);
        this.retry.unref();
      }
      return;
    }
  }

  private async dispatch(batch: LoggedChange[]): Promise<void> {
    const subscribers = [...this.subscribers];
    const noteChanges = batch.filter((c) => c.kind === NoteChangeKind.CREATED || c.kind === NoteChangeKind.UPDATED || c.kind === NoteChangeKind.DELETED);
    if (subscribers.length === 0 || noteChanges.length === 0) return;
    const factIds = noteChanges.flatMap((c) => c.factIds);
    if (factIds.length > 0 && !(await this.options.awaitFacts(factIds).catch(() => false))) {
      // Decided anyway: the facts a change waits for only add access (a new note's tuple), so without them the PDP denies more, never allows more.
      this.options.logger.warn({ facts: factIds.length }, "note events decided before the PDP acknowledged their facts");
    }
    // Created and updated notes as stored now (a deleted one is skipped: its DELETED event follows).
    const loadIds = [...new Set(noteChanges.filter((c) => c.kind !== NoteChangeKind.DELETED).map((c) => c.noteId!))];
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
    const events: { change: LoggedChange; note: Note | null; subject: NoteReadCheck["note"]; reach: Subscriber[]; audience?: ReadonlySet<string> }[] = [];
    for (const change of noteChanges) {
      const note = change.kind === NoteChangeKind.DELETED ? null : rows.get(change.noteId!);
      if (note === undefined) continue;
      const subject = note ?? { id: change.noteId!, ownerId: change.ownerId!, workspaceId: change.workspaceId };
      const reach = subscribers.filter((s) => (s.workspaceId === null || s.workspaceId === subject.workspaceId) && comparePositions(change.position, s.after) > 0);
      if (reach.length === 0) continue;
      events.push({ change, note, subject, reach, ...(change.kind === NoteChangeKind.DELETED ? { audience: new Set(change.audience ?? []) } : {}) });
    }
    if (events.length === 0) return;

    // One check per (user, note): a user's subscriptions share it; a deletion's decided audience needs none.
    const checks: NoteReadCheck[] = [];
    const index = new Map<string, number>();
    const keyOf = (userId: string, noteId: string) => `${userId} ${noteId}`;
    for (const { subject, reach, audience } of events) {
      for (const s of reach) {
        const key = keyOf(s.userId, subject.id);
        if (audience?.has(s.userId) || index.has(key)) continue;
        index.set(key, checks.length);
        checks.push({ userId: s.userId, note: subject });
      }
    }
    this.stats.batches += 1;
    this.stats.changes += batch.length;
    this.stats.checks += checks.length;
    let decisions: boolean[] = [];
    let undecidedUsers = new Set<Subscriber>();
    if (checks.length > 0) {
      this.stats.pdpCalls += 1;
      try {
        decisions = await this.options.decide(checks);
      } catch (error) {
        // Only what needed the PDP is withheld: a deletion still reaches the audience its writer decided.
        const unavailable = isAppError(error) ? error : authzUnavailable(error);
        const undecided = new Set(events.flatMap((e) => e.reach.filter((s) => !e.audience?.has(s.userId))));
        for (const s of undecided) s.push({ error: unavailable });
        this.options.metrics?.noteEvents.inc({ outcome: "unavailable" }, undecided.size);
        decisions = checks.map(() => false);
        undecidedUsers = undecided;
      }
    }
    let delivered = 0;
    let denied = 0;
    const cursors = new Map<string, string>();
    for (const { change, note, subject, reach, audience } of events) {
      for (const s of reach) {
        if (!audience?.has(s.userId) && !decisions[index.get(keyOf(s.userId, subject.id))!]) {
          if (!undecidedUsers.has(s)) denied += 1;
          continue;
        }
        // Only a subscriber still subscribed: one that left while the batch was decided gets nothing.
        if (!this.subscribers.has(s)) continue;
        const cursorKey = `${s.userId} ${change.position.tx} ${change.position.id}`;
        let cursor = cursors.get(cursorKey);
        if (cursor === undefined) cursors.set(cursorKey, (cursor = this.options.cursors.encode(change.position, s.userId)));
        const kind = change.kind as NoteEventKind;
        s.push({ event: { kind, noteId: change.noteId!, version: note ? note.version : change.version!, note, at: change.at, cursor } });
        delivered += 1;
      }
    }
    this.stats.delivered += delivered;
    this.options.metrics?.noteEvents.inc({ outcome: "delivered" }, delivered);
    this.options.metrics?.noteEvents.inc({ outcome: "denied" }, denied);
  }
}
