import net from "node:net";
import pino from "pino";
import type { Permit } from "permitio";
import { PermitConnectionError } from "permitio";
import { startPolicyPdp } from "../../test/support/policy-pdp";
import { ErrorCode, isAppError } from "../common/errors";
import { createMetrics } from "../common/metrics";
import { Authorizer, resourceIdentity } from "./authorizer";
import { noteResource } from "./resources";
import { notePermissions } from "./notes";
import { createPermitClient } from "../permit/client";
import { PermitFacts } from "../permit/fact-writer";

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
  new Authorizer({ permit, user: { userId: "u1" }, tenant: "t1", logger: silent, maxBatchSize });

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
      expect(q.user).toEqual({ key: "u1" });
      expect((q.resource as { tenant: string }).tenant).toBe("t1");
    }
    // A type-level check carries no key (not even `key: undefined`).
    expect(calls[0].find((q) => q.action === "post")!.resource).toEqual({ type: "notes", tenant: "t1" });
  });

  it("asks once for equal checks (resources built by resources.ts) and memoizes for the request", async () => {
    const { permit, calls } = fakePermit();
    const a = authorizer(permit);
    const note = { id: "n1", ownerId: "u1", workspaceId: "w" };
    await Promise.all([a.can("get", noteResource(note)), a.can("get", noteResource({ ...note }))]);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toHaveLength(1);
    await a.can("get", noteResource(note));
    expect(calls).toHaveLength(1);
    // Different attributes are a different question.
    await a.can("get", noteResource({ ...note, ownerId: "u2" }));
    expect(calls).toHaveLength(2);
  });

  it("identifies resources by type, key and attributes", () => {
    expect(resourceIdentity({ type: "notes", key: "1" })).not.toBe(resourceIdentity({ type: "notes" }));
    expect(resourceIdentity({ type: "notes", attributes: { a: { y: 1, x: 2 } } })).toBe(resourceIdentity({ type: "notes", attributes: { a: { y: 1, x: 2 } } }));
    expect(resourceIdentity({ type: "notes", key: "a:b" })).not.toBe(resourceIdentity({ type: "notes:a", key: "b" }));
    expect(resourceIdentity({ type: "notes", key: "" })).not.toBe(resourceIdentity({ type: "notes" }));
    expect(resourceIdentity({ type: "notes", attributes: { owner: "u1" } })).not.toBe(resourceIdentity({ type: "notes", attributes: { owner: "u2" } }));
  });

  it("asks each action of equal resources built apart once, and different actions apart", async () => {
    const { permit, calls } = fakePermit((q) => q.action === "get");
    const a = authorizer(permit);
    const built = () => ({ type: "notes", key: "n1", attributes: { owner: "u2" } });
    expect(await Promise.all([a.can("get", built()), a.can("get", built()), a.can("put", built())])).toEqual([true, true, false]);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.map((q) => q.action)).toEqual(["get", "put"]);
  });

  it("counts every decision by resource, action and result, allowed and denied", async () => {
    const { permit } = fakePermit((q) => q.action === "get" && (q.resource as { key?: string }).key !== "n3");
    const metrics = createMetrics();
    const a = new Authorizer({ permit, user: { userId: "u1" }, tenant: "t1", logger: silent, metrics });
    await Promise.all([
      ...["n1", "n2", "n3"].map((key) => a.can("get", { type: "notes", key })),
      ...["n1", "n2"].map((key) => a.can("put", { type: "notes", key })),
      a.can("get", { type: "workspaces", key: "w1" }),
    ]);
    const counted = (await metrics.decisions.get()).values.map((v) => [v.labels.resource, v.labels.action, v.labels.result, v.value]);
    expect(counted.sort()).toEqual([
      ["notes", "get", "allow", 2],
      ["notes", "get", "deny", 1],
      ["notes", "put", "deny", 2],
      ["workspaces", "get", "allow", 1],
    ]);
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
    // The same resource objects asked again (one of them equal to another, built apart and
    // sharing its failed question), and an equal one built afterwards: all ask the PDP again.
    const n1 = { type: "notes", key: "n1" };
    const n1Apart = { type: "notes", key: "n1" };
    const pending = [a.can("get", n1), a.can("get", n1Apart), a.can("get", { type: "notes", key: "n2" })];
    for (const p of pending) await expectUnavailable(p);
    short = false;
    await expect(a.can("get", n1)).resolves.toBe(true);
    await expect(a.can("get", n1Apart)).resolves.toBe(true);
    await expect(a.can("get", { type: "notes", key: "n2" })).resolves.toBe(true);
    // The failed bulk, then one for each question asked again (in two ticks).
    expect(permit.bulkCheck).toHaveBeenCalledTimes(3);
  });

  it("rejects every pending check with AUTHZ_UNAVAILABLE when the PDP fails, without exposing the error", async () => {
    const permit = {
      bulkCheck: jest.fn(async () => {
        throw new PermitConnectionError("Permit SDK got error: \n connect ECONNREFUSED 127.0.0.1:1 Bearer secret-key");
      }) as unknown as BulkCheck,
    };
    const lines: string[] = [];
    const logger = pino({ level: "warn" }, { write: (l: string) => void lines.push(l) });
    const a = new Authorizer({ permit, user: { userId: "u1" }, tenant: "t1", logger });
    const checks = [a.can("get", { type: "notes", key: "n1" }), a.can("put", { type: "notes", key: "n1" })];
    for (const c of checks) await expectUnavailable(c);
    expect(permit.bulkCheck).toHaveBeenCalledTimes(1);
    expect(lines.join("")).toContain("ECONNREFUSED");
    expect(lines.join("")).not.toContain("secret-key");
  });
});

describe("settled decisions and viewerCan without waiting", () => {
  const ctxOf = (a: Authorizer) => ({ principal: { userId: "u1" }, authorizer: a }) as unknown as Parameters<typeof notePermissions>[0];

  it("knows a decision only once its bulk call answered (allowed and denied), or when the plan refused it", async () => {
    const { permit } = fakePermit((q) => q.action !== "delete");
    const a = authorizer(permit);
    const resource = { type: "notes", key: "n1" };
    const pending = [a.can("get", resource), a.can("delete", resource)];
    expect(a.settled("get", resource)).toBeUndefined();
    await Promise.all(pending);
    expect(a.settled("get", resource)?.allow).toBe(true);
    expect(a.settled("delete", resource)?.allow).toBe(false);
    expect(a.settled("put", resource)).toBeUndefined();
    a.denyOutsidePlan("put", resource);
    expect(a.settled("put", resource)).toMatchObject({ allow: false, reason: "plan" });
  });

  it("knows nothing of a bulk call that failed", async () => {
    const permit = { bulkCheck: jest.fn(async () => Promise.reject(new PermitConnectionError("down"))) as unknown as BulkCheck };
    const a = authorizer(permit);
    const resource = { type: "notes", key: "n1" };
    await expectUnavailable(a.can("get", resource));
    expect(a.settled("get", resource)).toBeUndefined();
  });

  it("answers viewerCan at once when every decision is made, and by asking otherwise, with the same answers", async () => {
    const decide = (q: Query) => q.action === "get" || (q.resource as { attributes?: { owner?: string } }).attributes?.owner === "u1";
    const note = (id: string, ownerId: string) => ({ id, ownerId, workspaceId: null }) as unknown as Parameters<typeof notePermissions>[1];
    const own = note("n1", "u1");
    const other = note("n2", "u2");

    const asking = authorizer(fakePermit(decide).permit);
    const asked = [notePermissions(ctxOf(asking), own), notePermissions(ctxOf(asking), other)];
    for (const p of asked) expect(p).toBeInstanceOf(Promise);

    const filtered = authorizer(fakePermit(decide).permit);
    for (const n of [own, other]) filtered.prefetch(["get", "put", "delete"], noteResource(n));
    await filtered.can("get", noteResource(other));
    const known = [notePermissions(ctxOf(filtered), own), notePermissions(ctxOf(filtered), other)];
    for (const p of known) expect(p).not.toBeInstanceOf(Promise);

    expect(known).toEqual(await Promise.all(asked));
    expect(known).toEqual([
      { get: true, put: true, delete: true },
      { get: true, put: false, delete: false },
    ]);
  });
});

// ─── against the local Permit-compatible PDP, through the real SDK ─────────────────────────

describe("Authorizer against the local PDP", () => {
  const API_KEY = "authorizer-test-key";
  let pdp: { url: string; close(): Promise<void> };
  let permit: Permit;

  const as = (userId: string) => new Authorizer({ permit, user: { userId }, tenant: "default", logger: silent });

  async function bulkCalls(): Promise<number> {
    const res = await fetch(`${pdp.url}/local/stats`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(res.status).toBe(200);
    const stats = (await res.json()) as { requests: Record<string, number> };
    return stats.requests["POST /allowed/bulk"] ?? 0;
  }

  beforeAll(async () => {
    ({ pdp, permit } = await startPolicyPdp(API_KEY));
    const facts = new PermitFacts({ permit, tenant: "default" });
    for (const key of ["alice", "bob", "carol", "dave"]) await facts.syncUser({ key, email: `${key}@example.com` });
    await permit.api.roleAssignments.assign({ user: "carol", role: "admin", tenant: "default" });
    await permit.api.users.update("dave", { attributes: { plan: "premium" } });
    await facts.createNote("n-alice", "alice");
  });
  afterAll(() => pdp?.close());

  const aliceNote = { type: "notes", key: "n-alice", attributes: { owner: "alice" } };

  it("lets a user get and post notes; someone without the role cannot", async () => {
    const alice = as("alice");
    await expect(alice.can("get", aliceNote)).resolves.toBe(true);
    await expect(alice.can("post", { type: "notes", attributes: { owner: "alice" } })).resolves.toBe(true);
    const stranger = as("never-synced");
    await expect(stranger.can("get", aliceNote)).resolves.toBe(false);
    await expect(stranger.can("post", { type: "notes", attributes: { owner: "never-synced" } })).resolves.toBe(false);
  });

  it("lets the owner put and delete their note (ABAC own_notes), not another user", async () => {
    const alice = as("alice");
    const bob = as("bob");
    const [ap, ad, bp, bd] = await Promise.all([
      alice.can("put", aliceNote),
      alice.can("delete", aliceNote),
      bob.can("put", aliceNote),
      bob.can("delete", aliceNote),
    ]);
    expect([ap, ad, bp, bd]).toEqual([true, true, false, false]);
  });

  it("uses the stored owner attribute when the check carries only the key", async () => {
    await expect(as("alice").can("put", { type: "notes", key: "n-alice" })).resolves.toBe(true);
    await expect(as("bob").can("put", { type: "notes", key: "n-alice" })).resolves.toBe(false);
  });

  it("lets an admin do everything, a user not", async () => {
    const carol = as("carol");
    await expect(carol.can("delete", aliceNote)).resolves.toBe(true);
    await expect(carol.can("share", { type: "workspaces", key: "w-any" })).resolves.toBe(true);
    await expect(as("bob").can("share", { type: "workspaces", key: "w-any" })).resolves.toBe(false);
  });

  it("lets premium users create workspaces, others not", async () => {
    await expect(as("dave").can("post", { type: "workspaces" })).resolves.toBe(true);
    await expect(as("alice").can("post", { type: "workspaces" })).resolves.toBe(false);
  });

  it("sends the checks of one tick as exactly one POST /allowed/bulk and memoizes them", async () => {
    const alice = as("alice");
    const before = await bulkCalls();
    const checks = Array.from({ length: 30 }, (_, i) => ({ action: ["get", "put", "delete"][i % 3], resource: { type: "notes", key: `n${i}`, attributes: { owner: i % 2 ? "alice" : "bob" } } }));
    const first = await Promise.all(checks.map((c) => alice.can(c.action, c.resource)));
    expect(await bulkCalls()).toBe(before + 1);
    expect(first).toEqual(checks.map((c) => c.action === "get" || c.resource.attributes.owner === "alice"));

    const again = await Promise.all(checks.map((c) => alice.can(c.action, c.resource)));
    expect(again).toEqual(first);
    expect(await bulkCalls()).toBe(before + 1);
  });

  it("answers AUTHZ_UNAVAILABLE when the PDP answers with an error status (wrong key: 401)", async () => {
    const refused = createPermitClient({ apiKey: "not-the-key", pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 2000 }, silent);
    const a = new Authorizer({ permit: refused, user: { userId: "alice" }, tenant: "default", logger: silent });
    await expectUnavailable(a.can("get", aliceNote));
    // The same check through the right key is allowed: the failure was not a deny.
    await expect(as("alice").can("get", aliceNote)).resolves.toBe(true);
  });

  it("answers AUTHZ_UNAVAILABLE when nothing listens on the PDP port", async () => {
    const port = await closedPort();
    const down = createPermitClient({ apiKey: API_KEY, pdpUrl: `http://127.0.0.1:${port}`, apiUrl: `http://127.0.0.1:${port}`, timeoutMs: 2000 }, silent);
    const a = new Authorizer({ permit: down, user: { userId: "alice" }, tenant: "default", logger: silent });
    await Promise.all([expectUnavailable(a.can("get", aliceNote)), expectUnavailable(a.can("put", aliceNote))]);
  });

  it("answers AUTHZ_UNAVAILABLE within the timeout when the PDP accepts and never answers", async () => {
    const sockets = new Set<net.Socket>();
    const hung = net.createServer((s) => void sockets.add(s));
    await new Promise<void>((resolve) => hung.listen(0, "127.0.0.1", resolve));
    const { port } = hung.address() as net.AddressInfo;
    try {
      const timeoutMs = 300;
      const slow = createPermitClient({ apiKey: API_KEY, pdpUrl: `http://127.0.0.1:${port}`, apiUrl: `http://127.0.0.1:${port}`, timeoutMs }, silent);
      const a = new Authorizer({ permit: slow, user: { userId: "alice" }, tenant: "default", logger: silent });
      const started = Date.now();
      await expectUnavailable(a.can("get", aliceNote));
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(timeoutMs - 20);
      expect(elapsed).toBeLessThan(timeoutMs + 700);
      expect(sockets.size).toBeGreaterThan(0);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });
});

/** A port that was free a moment ago and has nothing listening on it now. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}
