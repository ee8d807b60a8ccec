import "reflect-metadata";
import type { DataSource } from "typeorm";
import { createDataSource } from "../db/data-source";
import { createLogger } from "../common/logger";
import { createTestDatabase } from "../../test/support/database";
import { FactDelivery } from "./delivery";
import { recordFacts, type Fact } from "./facts";

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

const noteKey = (fact: Fact) => (fact.kind === "note.created" || fact.kind === "note.deleted" ? `${fact.kind}:${fact.noteId}` : fact.kind);

describe("fact delivery (transactional outbox)", () => {
  afterEach(() => ds.query(`DELETE FROM permit_outbox`));

  it("keeps facts through a PDP outage and delivers them in order afterwards", async () => {
    let up = false;
    const applied: string[] = [];
    const delivery = new FactDelivery(
      ds,
      async (fact) => {
        if (!up) throw new Error("PDP unreachable");
        applied.push(noteKey(fact));
      },
      logger,
      { waitMs: 100 },
    );
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
    // A waiting mutation retries a fact in backoff at once.
    expect(await delivery.deliver(ids)).toBe(true);
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
