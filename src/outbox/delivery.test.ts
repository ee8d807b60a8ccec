import "reflect-metadata";
import type { DataSource } from "typeorm";
import { createDataSource } from "../db/data-source";
import { createLogger } from "../common/logger";
import { createTestDatabase } from "../../test/support/database";
import { FactDelivery, MAX_REJECTIONS, failureKind, nextWave } from "./delivery";
import { factOf, objectsOf, recordFacts, type Fact } from "./facts";

let ds: DataSource;
const logger = createLogger("silent");
const USER = "00000000-0000-4000-8000-0000000000aa";

beforeAll(async () => {
  ds = createDataSource(await createTestDatabase());
  await ds.initialize();
});
afterAll(() => ds.destroy());

const record = (facts: Fact[]) => ds.transaction((m) => recordFacts(m, facts));
const pending = async () =>
  (await ds.query(`SELECT kind, attempts, last_error FROM permit_outbox WHERE delivered_at IS NULL ORDER BY id`)) as {
    kind: string;
    attempts: number;
    last_error: string | null;
  }[];

const W1 = "00000000-0000-4000-8000-0000000000b1";
const W2 = "00000000-0000-4000-8000-0000000000b2";
const BOB = "00000000-0000-4000-8000-0000000000bb";
const CAROL = "00000000-0000-4000-8000-0000000000cc";
/** A refusal as the fact writers report one (permit/fact-writer.ts#PermitFactError: `retryable` false). */
const refusal = () => Object.assign(new Error("createWorkspace failed: unprocessable (HTTP 422)"), { retryable: false, status: 422 });
const outage = () => Object.assign(new Error("createWorkspace failed: connect ECONNREFUSED"), { retryable: true });
const describeFact = (fact: Fact) => `${fact.kind} ${Object.values(objectsOf(fact)).flat().join(" ")}`;

const noteKey = (fact: Fact) => (fact.kind === "note.created" || fact.kind === "note.deleted" ? `${fact.kind}:${fact.noteId}` : fact.kind);

describe("fact delivery (transactional outbox)", () => {
  afterEach(() => ds.query(`DELETE FROM permit_outbox`));

  it("keeps facts through a PDP outage and delivers them in order afterwards", async () => {
    let up = false;
    const applied: string[] = [];
    const sink = async (fact: Fact) => {
      if (!up) throw new Error("PDP unreachable");
      applied.push(noteKey(fact));
    };
    const delivery = new FactDelivery(ds, sink, logger, { waitMs: 100 });
    // The same replica waiting as a mutation does by default (OUTBOX_WAIT_MS): three facts in a row take more than 100 ms on a loaded machine.
    const patient = new FactDelivery(ds, sink, logger, { waitMs: 3000 });
    const ids = await record([
      { kind: "workspace.created", workspaceId: USER, ownerId: USER },
      { kind: "note.created", noteId: "n1", ownerId: USER, workspaceId: USER },
      { kind: "note.deleted", noteId: "n1" },
    ]);
    expect(await delivery.deliver(ids)).toBe(false);
    await delivery.drain();
    const during = await pending();
    expect(during.map((f) => f.kind)).toEqual(["workspace.created", "note.created", "note.deleted"]);
    // Delivery stops at the first failure: later facts may concern the same object.
    expect(during[0]).toMatchObject({ attempts: 1, last_error: "PDP unreachable" });
    expect(during[1]!.attempts).toBe(0);
    expect(applied).toEqual([]);

    up = true;
    // A waiting mutation retries a fact in backoff at once (its backoff has not passed yet).
    const [{ waiting }] = await ds.query(`SELECT next_attempt_at > now() AS waiting FROM permit_outbox WHERE id = $1`, [ids[0]]);
    expect(waiting).toBe(true);
    expect(await patient.deliver(ids)).toBe(true);
    expect(applied).toEqual(["workspace.created", "note.created:n1", "note.deleted:n1"]);
    expect(await pending()).toEqual([]);
    expect(await delivery.pending()).toBe(0);
  });

  it("does not retry a failed fact before its backoff has passed, and later facts wait behind it", async () => {
    const calls: string[] = [];
    const delivery = new FactDelivery(
      ds,
      async (fact) => {
        calls.push(noteKey(fact));
        if (fact.kind === "note.created") throw new Error("still down");
      },
      logger,
      { waitMs: 0 },
    );
    const ids = await record([
      { kind: "note.created", noteId: "n2", ownerId: USER, workspaceId: null },
      { kind: "note.deleted", noteId: "n2" },
    ]);
    expect(await delivery.deliver(ids)).toBe(false);
    await delivery.drain();
    await delivery.drain();
    // One attempt, and the deletion was not sent ahead of the creation it follows.
    expect(calls).toEqual(["note.created:n2"]);
    expect((await pending()).map((f) => f.kind)).toEqual(["note.created", "note.deleted"]);
  });

  it("delivers in commit order, each fact once, when two deliverers drain at once", async () => {
    const seen: string[] = [];
    const sink = async (fact: Fact) => {
      await new Promise((r) => setTimeout(r, 2));
      if (fact.kind === "note.deleted") seen.push(fact.noteId);
    };
    const one = new FactDelivery(ds, sink, logger);
    const two = new FactDelivery(ds, sink, logger);
    await record(Array.from({ length: 30 }, (_, i) => ({ kind: "note.deleted" as const, noteId: `x${i}` })));
    await Promise.all([one.drain(), two.drain(), one.drain(), two.drain()]);
    // Not sorted: the order itself is the guarantee.
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => `x${i}`));
    expect(await one.pending()).toBe(0);
  });

  it("lets a mutation wait for its facts while another deliverer delivers them", async () => {
    const deliveredBy: string[] = [];
    let releaseSlow!: () => void;
    const slowGate = new Promise<void>((resolve) => (releaseSlow = resolve));
    const busy = new FactDelivery(
      ds,
      async (fact) => {
        if (noteKey(fact) === "note.deleted:first") await slowGate;
        deliveredBy.push(`busy:${noteKey(fact)}`);
      },
      logger,
    );
    const waiting = new FactDelivery(
      ds,
      async (fact) => {
        deliveredBy.push(`waiting:${noteKey(fact)}`);
      },
      logger,
      { waitMs: 5000 },
    );
    await record([{ kind: "note.deleted", noteId: "first" }]);
    const busyDrain = busy.drain();
    await new Promise((r) => setTimeout(r, 50)); // `busy` now holds the delivery lock
    const mine = await record([{ kind: "note.deleted", noteId: "mine" }]);
    let answered = false;
    const answer = waiting.deliver(mine).then((ok) => ((answered = true), ok));
    await new Promise((r) => setTimeout(r, 200));
    // Its fact is not acknowledged yet, so the mutation has not answered.
    expect(answered).toBe(false);
    releaseSlow();
    expect(await answer).toBe(true);
    await busyDrain;
    // Once `busy` lets go of the lock, either deliverer may take the next batch; what holds is
    // the order, and that each fact is delivered once.
    expect(deliveredBy[0]).toBe("busy:note.deleted:first");
    expect(deliveredBy.map((d) => d.split(":").slice(1).join(":"))).toEqual(["note.deleted:first", "note.deleted:mine"]);
  });

  it("answers false when its facts are not acknowledged within the wait", async () => {
    let release!: () => void;
    const stalled = new Promise<void>((resolve) => (release = resolve));
    const delivery = new FactDelivery(ds, () => stalled, logger, { waitMs: 150 });
    const started = Date.now();
    const ids = await record([{ kind: "note.deleted", noteId: "stuck" }]);
    expect(await delivery.deliver(ids)).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    // The delivery goes on after the answer and completes once the PDP answers.
    release();
    await delivery.drain();
    expect(await delivery.deliver(ids)).toBe(true);
  });
});

describe("failure kinds", () => {
  it("takes a failure that says it is not retryable for a refusal, anything else for an outage", () => {
    expect(failureKind(refusal())).toBe("rejected");
    expect(failureKind(outage())).toBe("transient");
    expect(failureKind(new Error("socket hang up"))).toBe("transient");
    expect(failureKind(undefined)).toBe("transient");
    expect(failureKind("string")).toBe("transient");
  });
});

describe("which facts of the queue's head may go", () => {
  afterEach(() => ds.query(`DELETE FROM permit_outbox`));

  /** Records the facts; `stuck` and `waiting` (in backoff) pick some of them by position. */
  const queue = async (facts: Fact[], state: { stuck?: number[]; waiting?: number[] } = {}) => {
    const ids = await record(facts);
    await ds.query(`UPDATE permit_outbox SET stuck_at = now() WHERE id = ANY($1::bigint[])`, [(state.stuck ?? []).map((i) => ids[i])]);
    await ds.query(`UPDATE permit_outbox SET next_attempt_at = now() + interval '1 hour' WHERE id = ANY($1::bigint[])`, [(state.waiting ?? []).map((i) => ids[i])]);
    return ids;
  };
  const wave = async (options: Partial<Parameters<typeof nextWave>[1]> = {}) => {
    const { read, facts } = await nextWave(ds.manager, { length: 100, urgent: false, failed: [], max: 100, ...options });
    return { read, facts: facts.map((f) => describeFact(factOf(f))) };
  };

  it("skips what an earlier pending fact holds back, whether that one is stuck, in backoff or about to go", async () => {
    await queue(
      [
        { kind: "workspace.role_set", workspaceId: W1, userId: BOB, role: "EDITOR" as never },
        { kind: "note.created", noteId: "in-w1", ownerId: USER, workspaceId: W1 },
        { kind: "note.created", noteId: "p", ownerId: USER, workspaceId: null },
        { kind: "note.deleted", noteId: "p" },
        { kind: "workspace.created", workspaceId: W2, ownerId: USER },
        { kind: "note.created", noteId: "in-w2", ownerId: USER, workspaceId: W2 },
        { kind: "workspace.role_set", workspaceId: W2, userId: BOB, role: "VIEWER" as never },
        { kind: "user.deleted", userId: BOB },
        { kind: "user.email_set", userId: CAROL, email: "c@example.com" },
        { kind: "user.email_set", userId: USER, email: "u@example.com" },
      ],
      { stuck: [0], waiting: [2] },
    );
    // Only W2's creation and carol's email: everything else waits for an earlier fact it conflicts
    // with (the note in W2 and bob's role there wait for W2's creation, about to go in this wave;
    // USER's email change waits for it too, since that creation gives USER a role).
    expect(await wave()).toEqual({ read: 10, facts: [`workspace.created workspaces:${W2} users:${USER}`, `user.email_set users:${CAROL}`] });
    expect((await wave({ max: 1 })).facts).toEqual([`workspace.created workspaces:${W2} users:${USER}`]);
    // Urgent: the fact in backoff may go too; the stuck one never does.
    expect((await wave({ urgent: true })).facts).toEqual([`note.created notes:p`, `workspace.created workspaces:${W2} users:${USER}`, `user.email_set users:${CAROL}`]);
  });

  it("lets facts that only rely on the same object pass a held one", async () => {
    const ids = await queue(
      [
        { kind: "workspace.role_set", workspaceId: W1, userId: BOB, role: "EDITOR" as never },
        { kind: "workspace.role_set", workspaceId: W2, userId: BOB, role: "VIEWER" as never },
        { kind: "note.created", noteId: "a", ownerId: USER, workspaceId: W2 },
        { kind: "note.created", noteId: "b", ownerId: USER, workspaceId: W2 },
      ],
      { stuck: [0] },
    );
    expect((await wave()).facts).toEqual([`workspace.role_set workspaces:${W2} users:${BOB}`]);
    // Once W2's role is acknowledged, both notes only rely on W2: they go together.
    await ds.query(`UPDATE permit_outbox SET delivered_at = now() WHERE id = $1`, [ids[1]]);
    expect((await wave()).facts).toEqual([`note.created notes:a workspaces:${W2}`, `note.created notes:b workspaces:${W2}`]);
    expect((await wave({ failed: [ids[2]!] })).facts).toEqual([`note.created notes:b workspaces:${W2}`]);
  });

  it("finds nothing in a head that holds only held facts, and says the head was full", async () => {
    await queue(
      [
        { kind: "workspace.created", workspaceId: W1, ownerId: USER },
        ...Array.from({ length: 5 }, (_, i): Fact => ({ kind: "note.created", noteId: `held-${i}`, ownerId: USER, workspaceId: W1 })),
        { kind: "note.deleted", noteId: "free" },
      ],
      { stuck: [0] },
    );
    expect(await wave({ length: 6 })).toEqual({ read: 6, facts: [] });
    expect(await wave({ length: 24 })).toEqual({ read: 7, facts: ["note.deleted notes:free"] });
  });
});

describe("the objects of a fact", () => {
  it("changes its own object and relies on the ones it names", () => {
    expect(objectsOf({ kind: "workspace.created", workspaceId: W1, ownerId: USER })).toEqual({ changes: [`workspaces:${W1}`], reliesOn: [`users:${USER}`] });
    expect(objectsOf({ kind: "workspace.role_set", workspaceId: W1, userId: BOB, role: "VIEWER" as never })).toEqual({
      changes: [`workspaces:${W1}`],
      reliesOn: [`users:${BOB}`],
    });
    expect(objectsOf({ kind: "note.created", noteId: "n", ownerId: USER, workspaceId: W1 })).toEqual({ changes: ["notes:n"], reliesOn: [`workspaces:${W1}`] });
    expect(objectsOf({ kind: "note.created", noteId: "n", ownerId: USER, workspaceId: null })).toEqual({ changes: ["notes:n"], reliesOn: [] });
    expect(objectsOf({ kind: "user.deleted", userId: BOB })).toEqual({ changes: [`users:${BOB}`], reliesOn: [] });
  });
});

describe("order per object", () => {
  afterEach(() => ds.query(`DELETE FROM permit_outbox`));

  /** A sink that fails every fact `failing` picks (with `error`), and records the others in order. */
  const sinkFailing = (failing: (fact: Fact) => boolean, error: () => Error = outage) => {
    const applied: string[] = [];
    const tried: string[] = [];
    const sink = async (fact: Fact) => {
      tried.push(describeFact(fact));
      if (failing(fact)) throw error();
      applied.push(describeFact(fact));
    };
    return { sink, applied, tried };
  };

  it("holds back only the later facts of a failing fact's objects; the others go on once Permit is taken for up again", async () => {
    const { sink, applied, tried } = sinkFailing((f) => f.kind === "note.created" && f.noteId === "a");
    const delivery = new FactDelivery(ds, sink, logger, { waitMs: 0 });
    await record([
      { kind: "note.created", noteId: "a", ownerId: USER, workspaceId: null },
      { kind: "note.created", noteId: "b", ownerId: USER, workspaceId: null },
      { kind: "note.deleted", noteId: "a" },
      { kind: "note.deleted", noteId: "b" },
    ]);
    await delivery.drain();
    // An outage ends the drain: nothing else was tried, and for a second nothing is sent but by a waiting mutation.
    expect(tried).toEqual(["note.created notes:a"]);
    await delivery.drain();
    expect(tried).toEqual(["note.created notes:a"]);
    await ds.query(`UPDATE permit_outbox SET next_attempt_at = now() + interval '1 hour' WHERE attempts > 0`);
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await delivery.drain();
    // b's creation and removal were delivered, in order; a's removal did not overtake a's creation (in backoff).
    expect(tried).toEqual(["note.created notes:a", "note.created notes:b", "note.deleted notes:b"]);
    expect(applied).toEqual(["note.created notes:b", "note.deleted notes:b"]);
    expect(await pending()).toEqual([
      { kind: "note.created", attempts: 1, last_error: "createWorkspace failed: connect ECONNREFUSED" },
      { kind: "note.deleted", attempts: 0, last_error: null },
    ]);
  });

  it("never lets a removal overtake an earlier fact it depends on, while facts that only rely on the same object pass each other", async () => {
    // Permit refuses bob's role on W1 (a refusal concerns that fact only: the drain goes on); his
    // role on W2 only relies on bob too, so it goes; his deletion changes bob, so it waits for the role on W1.
    const { sink, applied } = sinkFailing((f) => f.kind === "workspace.role_set" && f.workspaceId === W1, refusal);
    const delivery = new FactDelivery(ds, sink, logger, { waitMs: 0 });
    await record([
      { kind: "workspace.role_set", workspaceId: W1, userId: BOB, role: "EDITOR" as never },
      { kind: "workspace.role_set", workspaceId: W2, userId: BOB, role: "VIEWER" as never },
      { kind: "note.created", noteId: "in-w1", ownerId: USER, workspaceId: W1 },
      { kind: "note.created", noteId: "in-w2", ownerId: USER, workspaceId: W2 },
      { kind: "user.deleted", userId: BOB },
      { kind: "workspace.role_removed", workspaceId: W2, userId: USER },
    ]);
    await delivery.drain();
    expect(applied).toEqual([
      `workspace.role_set workspaces:${W2} users:${BOB}`,
      `note.created notes:in-w2 workspaces:${W2}`,
      `workspace.role_removed workspaces:${W2} users:${USER}`,
    ]);
    expect((await pending()).map((f) => f.kind)).toEqual(["workspace.role_set", "note.created", "user.deleted"]);
  });

  it("delivers a chain of facts about one object in a single drain, in order", async () => {
    const { sink, applied } = sinkFailing(() => false);
    const delivery = new FactDelivery(ds, sink, logger);
    const chain: Fact[] = Array.from({ length: 40 }, (_, i) =>
      i % 2 === 0 ? { kind: "note.created", noteId: "c", ownerId: USER, workspaceId: null } : { kind: "note.deleted", noteId: "c" },
    );
    await record(chain);
    await delivery.drain();
    expect(applied).toEqual(chain.map(describeFact));
    expect(await delivery.pending()).toBe(0);
  });

  it(`marks a fact refused ${MAX_REJECTIONS} times stuck: logged with its objects and Permit's answer, never tried again, holding back its objects only`, async () => {
    const lines: string[] = [];
    const logged = createLogger("warn", { destination: { write: (line: string) => void lines.push(line) } });
    const { sink, applied, tried } = sinkFailing((f) => "workspaceId" in f && f.workspaceId === W1, refusal);
    const delivery = new FactDelivery(ds, sink, logged, { waitMs: 2000 });
    const [refused] = await record([{ kind: "workspace.created", workspaceId: W1, ownerId: USER }]);
    for (let i = 1; i < MAX_REJECTIONS; i++) await delivery.drain({ urgent: true });
    expect(await delivery.stuck()).toEqual(new Map());
    expect(lines.map((l) => JSON.parse(l).level)).toEqual(Array(MAX_REJECTIONS - 1).fill(40));
    await delivery.drain({ urgent: true });
    expect(await delivery.stuck()).toEqual(new Map([["workspace.created", 1]]));
    const [row] = await ds.query(`SELECT stuck_at IS NOT NULL AS stuck, rejections, attempts, last_error FROM permit_outbox WHERE id = $1`, [refused]);
    expect(row).toEqual({ stuck: true, rejections: MAX_REJECTIONS, attempts: MAX_REJECTIONS, last_error: "createWorkspace failed: unprocessable (HTTP 422)" });
    const error = JSON.parse(lines.at(-1)!);
    expect(error).toMatchObject({
      level: 50,
      factId: refused,
      fact: "workspace.created",
      objects: [`workspaces:${W1}`, `users:${USER}`],
      answer: "createWorkspace failed: unprocessable (HTTP 422)",
    });

    // Later facts: the one about W1 waits, and its mutation is answered at once (nobody will deliver it);
    // the ones about other objects, the owner's included (they only rely on the owner), are delivered.
    const behind = await record([{ kind: "note.created", noteId: "in-w1", ownerId: USER, workspaceId: W1 }]);
    const aside = await record([
      { kind: "workspace.created", workspaceId: W2, ownerId: USER },
      { kind: "note.created", noteId: "in-w2", ownerId: USER, workspaceId: W2 },
    ]);
    const started = Date.now();
    expect(await delivery.deliver(behind)).toBe(false);
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await delivery.deliver(aside)).toBe(true);
    const triedBefore = tried.length;
    await ds.query(`UPDATE permit_outbox SET next_attempt_at = now() - interval '1 hour'`);
    await delivery.drain({ urgent: true });
    expect(tried).toHaveLength(triedBefore);
    expect(applied).toEqual([`workspace.created workspaces:${W2} users:${USER}`, `note.created notes:in-w2 workspaces:${W2}`]);
    expect((await pending()).map((f) => f.kind)).toEqual(["workspace.created", "note.created"]);
  });

  it("never marks a fact stuck for outages, however long they last", async () => {
    const { sink } = sinkFailing(() => true, outage);
    const delivery = new FactDelivery(ds, sink, logger, { waitMs: 0 });
    await record([{ kind: "note.deleted", noteId: "patient" }]);
    for (let i = 0; i < MAX_REJECTIONS * 2; i++) await delivery.drain({ urgent: true });
    const [row] = await ds.query(`SELECT stuck_at, rejections, attempts FROM permit_outbox`);
    expect(row).toEqual({ stuck_at: null, rejections: 0, attempts: MAX_REJECTIONS * 2 });
  });
});
