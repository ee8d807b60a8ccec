import fc from "fast-check";
import { DecisionLog, type DecisionFilter, type DecisionRecord } from "../src/decision-log";

/** What the log answers, stated plainly: the last `capacity` records, newest first, filtered. */
function expected(records: DecisionRecord[], capacity: number, filter: DecisionFilter): DecisionRecord[] {
  const held = capacity <= 0 ? [] : records.slice(-capacity).reverse();
  const out: DecisionRecord[] = [];
  for (const r of held) {
    if (out.length >= filter.limit) break;
    if (filter.since !== undefined && r.seq <= filter.since) break;
    if (filter.user !== undefined && r.user !== filter.user) continue;
    if (filter.action !== undefined && r.action !== filter.action) continue;
    if (filter.type !== undefined && r.resource.type !== filter.type) continue;
    if (filter.key !== undefined && r.resource.key !== filter.key) continue;
    if (filter.tenant !== undefined && r.resource.tenant !== filter.tenant) continue;
    if (filter.allow !== undefined && r.allow !== filter.allow) continue;
    out.push(r);
  }
  return out;
}

const few = <T>(...values: T[]) => fc.constantFrom(...values);
const models = fc.subarray(["rbac", "abac", "rebac"]);
const record = fc.record({
  time: few("2026-12-07T08:00:00.000Z", "2026-12-07T08:00:01.000Z"),
  endpoint: few("allowed" as const, "bulk" as const),
  user: few("alice", "bob"),
  action: few("get", "put"),
  resource: fc.record({ type: few("notes", "workspaces"), key: fc.option(few("n1", "n2"), { nil: undefined }), tenant: fc.option(few("default", "t2"), { nil: undefined }) }),
  allow: fc.boolean(),
  allowed_by: models,
  codes: fc.record({ rbac: few("allow", "no_permission"), abac: few("allow", "disabled") }, { requiredKeys: ["rbac", "abac"] }).chain((codes) =>
    fc.option(few("allow", "no_graph_roles"), { nil: undefined }).map((rebac) => (rebac === undefined ? codes : { ...codes, rebac })),
  ),
});
const filter = fc.record(
  {
    user: few("alice", "bob"),
    action: few("get", "put"),
    type: few("notes", "workspaces"),
    key: few("n1", "n2"),
    tenant: few("default", "t2"),
    allow: fc.boolean(),
    since: fc.nat({ max: 40 }),
    limit: fc.integer({ min: 1, max: 50 }),
  },
  { requiredKeys: ["limit"] },
);

describe("DecisionLog", () => {
  it("answers every query as the plain list of its last decisions would, over random decisions and filters", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 12 }), fc.array(record, { maxLength: 40 }), fc.array(filter, { minLength: 1, maxLength: 5 }), (capacity, added, filters) => {
        const log = new DecisionLog(capacity);
        const kept: DecisionRecord[] = [];
        for (const r of added) {
          log.add(r);
          kept.push({ seq: kept.length + 1, ...r });
        }
        expect(log.lastSeq()).toBe(added.length);
        // Every run reads the whole log too, besides its random filters.
        for (const f of [{ limit: 50 }, ...filters]) expect(log.query(f)).toEqual(expected(kept, capacity, f));
      }),
      { numRuns: 300 },
    );
  });

  it("keeps nothing with no capacity, and still counts the decisions", () => {
    const log = new DecisionLog(0);
    log.add({ time: "t", endpoint: "bulk", user: "alice", action: "get", resource: { type: "notes" }, allow: true, allowed_by: ["rbac"], codes: { rbac: "allow" } });
    expect(log.lastSeq()).toBe(1);
    expect(log.query({ limit: 10 })).toEqual([]);
  });
});
