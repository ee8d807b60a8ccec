import "reflect-metadata";
import type { DataSource } from "typeorm";
import { createDataSource } from "../db/data-source";
import { createLogger } from "../logger";
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

describe("fact delivery (transactional outbox)", () => {
  it("keeps facts through a PDP outage and delivers them in order afterwards", async () => {
    let up = false;
    const applied: string[] = [];
    const delivery = new FactDelivery(
      ds,
      async (fact) => {
        if (!up) throw new Error("PDP unreachable");
        applied.push(fact.kind === "note.created" || fact.kind === "note.deleted" ? `${fact.kind}:${fact.noteId}` : fact.kind);
      },
      logger,
      { waitMs: 2000 },
    );
    const ids = await record([
      { kind: "workspace.created", workspaceId: USER, ownerId: USER },
      { kind: "note.created", noteId: "n1", ownerId: USER, workspaceId: USER },
      { kind: "note.deleted", noteId: "n1" },
    ]);
    await delivery.deliver(ids);
    const during = await pending();
    expect(during.map((f) => f.kind)).toEqual(["workspace.created", "note.created", "note.deleted"]);
    // Delivery stops at the first failure: later facts may depend on it.
    expect(during[0]).toMatchObject({ attempts: 1, last_error: "PDP unreachable" });
    expect(during[1]!.attempts).toBe(0);
    expect(applied).toEqual([]);

    up = true;
    await ds.query(`UPDATE permit_outbox SET next_attempt_at = now()`); // skip the backoff
    await delivery.drain();
    expect(applied).toEqual(["workspace.created", "note.created:n1", "note.deleted:n1"]);
    expect(await pending()).toEqual([]);
    expect(await delivery.pending()).toBe(0);
  });

  it("does not retry a failed fact before its backoff has passed", async () => {
    let calls = 0;
    const delivery = new FactDelivery(
      ds,
      async () => {
        calls++;
        throw new Error("still down");
      },
      logger,
    );
    await delivery.deliver(await record([{ kind: "note.deleted", noteId: "n2" }]));
    await delivery.drain();
    expect(calls).toBe(1);
    await ds.query(`DELETE FROM permit_outbox`);
  });

  it("delivers nothing twice when two deliverers drain at once (SKIP LOCKED)", async () => {
    const seen: string[] = [];
    const sink = async (fact: Fact) => {
      await new Promise((r) => setTimeout(r, 5));
      if (fact.kind === "note.deleted") seen.push(fact.noteId);
    };
    const one = new FactDelivery(ds, sink, logger);
    const two = new FactDelivery(ds, sink, logger);
    await record(Array.from({ length: 30 }, (_, i) => ({ kind: "note.deleted" as const, noteId: `x${i}` })));
    await Promise.all([one.drain(), two.drain()]);
    expect(seen.sort()).toEqual(Array.from({ length: 30 }, (_, i) => `x${i}`).sort());
    expect(await one.pending()).toBe(0);
  });
});
