import "reflect-metadata";
import { randomUUID } from "node:crypto";
import type { DataSource } from "typeorm";
import { createTestDatabase } from "../../test/support/database";
import { createLogger } from "../common/logger";
import { createDataSource } from "../db/data-source";
import { SubscriberRegistry } from "./subscriber-registry";

let ds: DataSource;
const logger = createLogger("silent");
const registry = () => new SubscriberRegistry({ ds, replicaId: randomUUID(), logger, leaseMs: 60_000 });
const rows = async () => ((await ds.query(`SELECT count(*)::int AS n FROM live_subscribers`)) as { n: number }[])[0]!.n;

beforeAll(async () => {
  ds = createDataSource(await createTestDatabase());
  await ds.initialize();
});
afterAll(() => ds.destroy());
beforeEach(() => ds.query(`DELETE FROM live_subscribers`));

describe("SubscriberRegistry", () => {
  const [ann, ben] = [randomUUID(), randomUUID()];
  const [w1, w2] = [randomUUID(), randomUUID()];

  it("keeps one row per user and filter while any of its subscriptions lasts", async () => {
    const r = registry();
    await r.add(ann, w1);
    await r.add(ann, w1);
    expect(await rows()).toBe(1);
    await r.remove(ann, w1);
    expect(await r.subscribedUsers(w1)).toEqual([ann]);
    await r.remove(ann, w1);
    expect(await rows()).toBe(0);
    expect(await r.subscribedUsers(w1)).toEqual([]);
  });

  it("names those following every note for any note, and those following a workspace for its notes only", async () => {
    const r = registry();
    await r.add(ann, null);
    await r.add(ben, w1);
    expect((await r.subscribedUsers(w1)).sort()).toEqual([ann, ben].sort());
    expect(await r.subscribedUsers(w2)).toEqual([ann]);
    expect(await r.subscribedUsers(null)).toEqual([ann]);
  });

  it("sees the subscribers of every replica, but not a replica's whose lease has run out", async () => {
    const [a, b] = [registry(), registry()];
    await a.add(ann, null);
    await b.add(ben, null);
    expect((await a.subscribedUsers(null)).sort()).toEqual([ann, ben].sort());
    await ds.query(`UPDATE live_subscribers SET lease_until = now() - interval '1 second' WHERE user_id = $1`, [ben]);
    expect(await a.subscribedUsers(null)).toEqual([ann]);
  });

  it("on stop removes its own rows, not another replica's", async () => {
    const [a, b] = [registry(), registry()];
    await a.add(ann, null);
    await b.add(ben, null);
    await a.stop();
    expect(await b.subscribedUsers(null)).toEqual([ben]);
  });
});
