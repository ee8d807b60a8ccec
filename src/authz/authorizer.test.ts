import pino from "pino";
import type { Permit } from "permitio";
import { PermitConnectionError } from "permitio";
import { ErrorCode, isAppError } from "../errors";
import { Authorizer, checkCacheKey } from "./authorizer";

const silent = pino({ level: "silent" });

type BulkCheck = Permit["bulkCheck"];
type Query = Parameters<BulkCheck>[0][number];

/** A bulkCheck stand-in that records its calls and answers with `decide`. */
function fakePermit(decide: (q: Query) => boolean = () => true) {
  const calls: Query[][] = [];
  const permit = {
    bulkCheck: jest.fn(async (checks: Query[]) => {
      calls.push(checks);
      return checks.map(decide);
    }) as unknown as BulkCheck,
  };
  return { permit, calls };
}

const authorizer = (permit: Pick<Permit, "bulkCheck">, maxBatchSize?: number) =>
  new Authorizer({ permit, user: { key: "u1", email: "u1@example.com" }, tenant: "t1", logger: silent, maxBatchSize });

async function expectUnavailable(p: Promise<unknown>) {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isAppError(err)).toBe(true);
  expect((err as { extensions: { code: string } }).extensions.code).toBe(ErrorCode.AUTHZ_UNAVAILABLE);
}

describe("Authorizer (batching and memoization, against a stand-in)", () => {
  it("sends every check of one tick as one bulkCheck, each with the configured tenant", async () => {
    const { permit, calls } = fakePermit((q) => q.action === "get");
    const a = authorizer(permit);
    const results = await Promise.all([
      a.can("get", { type: "notes", key: "n1", attributes: { owner: "u2" } }),
      a.can("put", { type: "notes", key: "n1", attributes: { owner: "u2" } }),
      Promise.resolve().then(() => a.can("get", { type: "workspaces", key: "w1" })),
      a.can("post", { type: "notes" }),
    ]);
    expect(results).toEqual([true, false, true, false]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(4);
    for (const q of calls[0]) {
      expect(q.user).toEqual({ key: "u1", email: "u1@example.com" });
      expect((q.resource as { tenant: string }).tenant).toBe("t1");
    }
    // A type-level check carries no key (not even `key: undefined`).
    expect(calls[0].find((q) => q.action === "post")!.resource).toEqual({ type: "notes", tenant: "t1" });
  });

  it("asks once for equal checks, whatever the attribute key order, and memoizes for the request", async () => {
    const { permit, calls } = fakePermit();
    const a = authorizer(permit);
    expect(a.decided("get", { type: "notes", key: "n1", attributes: { owner: "u1", workspace: "w" } })).toBeUndefined();
    await Promise.all([
      a.can("get", { type: "notes", key: "n1", attributes: { owner: "u1", workspace: "w" } }),
      a.can("get", { type: "notes", key: "n1", attributes: { workspace: "w", owner: "u1" } }),
    ]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(1);
    await a.can("get", { type: "notes", key: "n1", attributes: { workspace: "w", owner: "u1" } });
    expect(calls).toHaveLength(1);
    expect(a.decided("get", { type: "notes", key: "n1", attributes: { workspace: "w", owner: "u1" } })).toBe(true);
    // Different attributes are a different question.
    expect(a.decided("get", { type: "notes", key: "n1", attributes: { owner: "u2", workspace: "w" } })).toBeUndefined();
  });

  it("keys checks by action, type, key and attributes", () => {
    expect(checkCacheKey("get", { type: "notes", key: "1" })).not.toBe(checkCacheKey("get", { type: "notes" }));
    expect(checkCacheKey("get", { type: "notes", attributes: { a: { y: 1, x: 2 } } })).toBe(
      checkCacheKey("get", { type: "notes", attributes: { a: { x: 2, y: 1 } } }),
    );
    expect(checkCacheKey("get", { type: "notes", key: "a:b" })).not.toBe(checkCacheKey("get", { type: "notes:a", key: "b" }));
  });

  it("splits a tick larger than the batch cap into several calls", async () => {
    const { permit, calls } = fakePermit();
    const a = authorizer(permit, 1000);
    await Promise.all(Array.from({ length: 2500 }, (_, i) => a.can("get", { type: "notes", key: `n${i}` })));
    expect(calls.map((c) => c.length)).toEqual([1000, 1000, 500]);
  });

  it("fails closed on an answer of the wrong length, and asks again later in the request", async () => {
    let short = true;
    const permit = {
      bulkCheck: jest.fn(async (checks: Query[]) => (short ? checks.slice(1).map(() => true) : checks.map(() => true))) as unknown as BulkCheck,
    };
    const a = authorizer(permit);
    const pending = [a.can("get", { type: "notes", key: "n1" }), a.can("get", { type: "notes", key: "n2" })];
    for (const p of pending) await expectUnavailable(p);
    expect(a.decided("get", { type: "notes", key: "n1" })).toBeUndefined();
    short = false;
    await expect(a.can("get", { type: "notes", key: "n1" })).resolves.toBe(true);
    expect(permit.bulkCheck).toHaveBeenCalledTimes(2);
  });

  it("rejects every pending check with AUTHZ_UNAVAILABLE when the PDP fails, without exposing the error", async () => {
    const permit = {
      bulkCheck: jest.fn(async () => {
        throw new PermitConnectionError("Permit SDK got error: \n connect ECONNREFUSED 127.0.0.1:1 Bearer secret-key");
      }) as unknown as BulkCheck,
    };
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
    const a = new Authorizer({ permit, user: { key: "u1" }, tenant: "t1", logger });
    const checks = [a.can("get", { type: "notes", key: "n1" }), a.can("put", { type: "notes", key: "n1" })];
    for (const c of checks) await expectUnavailable(c);
    expect(permit.bulkCheck).toHaveBeenCalledTimes(1);
    expect(lines.join("")).toContain("ECONNREFUSED");
    expect(lines.join("")).not.toContain("secret-key");
  });
});
