/**
 * Operating the API: the PDP circuit breaker, readiness by dependency, rate limits, request
 * ids, metrics, and a database outage (a TCP proxy in front of the shared test cluster,
 * switched to refuse or hang: the cluster itself is never stopped).
 */
import { CreateNoteDocument, MeDocument, NotesDocument, NotesWithPermissionsDocument } from "../generated/graphql";
import { codes, dataOf, startTestApi, type TestApi } from "../support/api";
import { createTestDatabase } from "../support/database";
import { startApiBehindProxy, type ApiBehindProxy } from "../support/policy-pdp";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";

jest.setTimeout(60_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const metricValue = (text: string, line: string) => {
  const found = text.split("\n").find((l) => l.startsWith(line));
  return found === undefined ? undefined : Number(found.slice(line.length).trim());
};

describe("PDP circuit breaker", () => {
  const API_KEY = "test_breaker_key";
  const TIMEOUT_MS = 800;
  const COOLDOWN_MS = 3000;
  let setup: ApiBehindProxy;
  let proxy: TcpProxy;
  let api: TestApi;
  let alice: string;

  beforeAll(async () => {
    setup = await startApiBehindProxy(API_KEY, {
      PERMIT_TIMEOUT_MS: String(TIMEOUT_MS),
      PDP_BREAKER_FAILURES: "5",
      PDP_BREAKER_COOLDOWN_MS: String(COOLDOWN_MS),
    });
    ({ proxy, api } = setup);
    alice = await api.token("alice.breaker@example.com");
    dataOf(await api.gql(CreateNoteDocument, { input: { title: "kept" } }, alice));
  });
  afterAll(() => setup.stop());

  it.each(["refuse", "hang"] as const)("opens after 5 failures (%s), fails fast while open, and one probe closes it", async (mode) => {
    proxy.mode = mode;
    for (let i = 0; i < 5; i++) expect(codes(await api.gql(MeDocument, {}, alice))).toEqual(["AUTHZ_UNAVAILABLE"]);
    expect(await (await api.http("/readyz")).json()).toEqual({ status: "ready", database: "up", pdp: "down" });
    expect(metricValue(await (await api.http("/metrics")).text(), "pdp_circuit_state ")).toBe(2);

    const elapsed: number[] = [];
    for (let i = 0; i < 200; i++) {
      const started = performance.now();
      const res = await api.gql(NotesWithPermissionsDocument, { first: 10 }, alice);
      elapsed.push(performance.now() - started);
      expect(codes(res)).toEqual(["AUTHZ_UNAVAILABLE"]);
      if (performance.now() - started > COOLDOWN_MS / 2) break; // never reached: the measurement below fails
    }
    elapsed.sort((a, b) => a - b);
    const p50 = percentile(elapsed, 50);
    const p99 = percentile(elapsed, 99);
    process.stdout.write(`breaker open (${mode}): AUTHZ_UNAVAILABLE over ${elapsed.length} requests: p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms\n`);
    expect(elapsed).toHaveLength(200);
    expect(p50).toBeLessThan(50);
    // The slow tail is the test machine (GC, the other test files and their processes), never a
    // wait for the PDP: that would take the whole 800 ms timeout.
    expect(p99).toBeLessThan(TIMEOUT_MS / 2);

    proxy.mode = "forward";
    await sleep(COOLDOWN_MS + 50);
    // The first request after the cool-down is the probe; it succeeds and closes the circuit.
    expect((await api.gql(NotesDocument, { first: 5 }, alice)).errors).toBeUndefined();
    expect(await (await api.http("/readyz")).json()).toEqual({ status: "ready", database: "up", pdp: "up" });
    expect(metricValue(await (await api.http("/metrics")).text(), "pdp_circuit_state ")).toBe(0);
  });

  it("a probe that fails opens the circuit again for another cool-down", async () => {
    proxy.mode = "refuse";
    for (let i = 0; i < 5; i++) await api.gql(MeDocument, {}, alice);
    await sleep(COOLDOWN_MS + 50);
    expect(codes(await api.gql(MeDocument, {}, alice))).toEqual(["AUTHZ_UNAVAILABLE"]); // the probe, refused
    proxy.mode = "forward";
    // Still open: not sent, fails fast.
    const started = Date.now();
    expect(codes(await api.gql(MeDocument, {}, alice))).toEqual(["AUTHZ_UNAVAILABLE"]);
    expect(Date.now() - started).toBeLessThan(50);
    await sleep(COOLDOWN_MS + 50);
    expect((await api.gql(MeDocument, {}, alice)).errors).toBeUndefined();
  });

  it("refuses a newcomer's first sync at once while the circuit is open, leaving the claim free; their next request syncs them", async () => {
    proxy.mode = "hang";
    for (let i = 0; i < 5; i++) expect(codes(await api.gql(MeDocument, {}, alice))).toEqual(["AUTHZ_UNAVAILABLE"]);
    const email = "newcomer.breaker@example.com";
    const newcomer = await api.token(email);
    const started = Date.now();
    const refused = await api.gql(MeDocument, {}, newcomer);
    // Sent through the hanging proxy, the sync would have waited for Permit's REST timeout (10 s).
    expect(Date.now() - started).toBeLessThan(TIMEOUT_MS / 2);
    expect(codes(refused)).toEqual(["AUTHZ_UNAVAILABLE"]);
    const syncState = async () =>
      ((await api.dataSource.query(`SELECT permit_synced_at IS NOT NULL AS synced, permit_sync_claimed_until IS NOT NULL AS claimed FROM users WHERE email = $1`, [email])) as {
        synced: boolean;
        claimed: boolean;
      }[])[0];
    expect(await syncState()).toEqual({ synced: false, claimed: false });
    expect(metricValue(await (await api.http("/metrics")).text(), 'pdp_call_errors_total{endpoint="user_sync",reason="circuit_open"} ')).toBeGreaterThan(0);

    proxy.mode = "forward";
    await sleep(COOLDOWN_MS + 50);
    // Half-open: the newcomer's own request syncs them, and its decision is the probe that closes the circuit.
    const me = await api.gql(MeDocument, {}, newcomer);
    expect(me.errors).toBeUndefined();
    expect(me.data!.me.roles).toEqual(["user"]);
    expect(await syncState()).toEqual({ synced: true, claimed: false });
    expect(await (await api.http("/readyz")).json()).toEqual({ status: "ready", database: "up", pdp: "up" });
  });

  it("exports the metrics an operator needs", async () => {
    await api.gql(NotesWithPermissionsDocument, { first: 5 }, alice);
    const text = await (await api.http("/metrics")).text();
    for (const name of [
      'graphql_operation_duration_seconds_count{operation="notes",type="query",outcome="ok"}',
      'graphql_operation_duration_seconds_count{operation="me",type="query",outcome="error"}',
      'pdp_call_duration_seconds_count{endpoint="bulk_check",outcome="ok"}',
      'pdp_call_duration_seconds_count{endpoint="bulk_check",outcome="rejected"}',
      'pdp_call_errors_total{endpoint="bulk_check",reason="circuit_open"}',
      'pdp_call_errors_total{endpoint="user_permissions",reason="timeout"}',
      'pdp_call_errors_total{endpoint="user_permissions",reason="connection"}',
      'authz_decisions_total{resource="notes",action="get",result="allow"}',
      "authz_checks_per_request_count",
      'permit_user_syncs_total{result="synced"}',
      "permit_outbox_pending ",
      "permit_outbox_oldest_pending_age_seconds ",
      "pdp_circuit_state ",
      "graphql_request_duration_seconds_count",
    ]) {
      expect(text).toContain(name);
    }
  });
});

describe("rate limits and request ids", () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi({ RATE_LIMIT_PER_MINUTE: "30", RATE_LIMIT_ANON_PER_MINUTE: "5" });
  });
  afterAll(() => api.stop());

  it("limits calls without a session per IP: 429, RATE_LIMITED, Retry-After", async () => {
    for (let i = 0; i < 5; i++) expect(codes(await api.gql(MeDocument, {}))).toEqual(["UNAUTHENTICATED"]);
    const res = await api.http("/graphql", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query: "{ me { id } }" }) });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get("retry-after"))).toBeGreaterThan(0);
    const body = (await res.json()) as { errors: { extensions: { code: string } }[] };
    expect(body.errors[0]!.extensions.code).toBe("RATE_LIMITED");
    // A signed-in user has a budget of their own.
    const bob = await api.token("bob.limits@example.com");
    expect((await api.gql(MeDocument, {}, bob)).errors).toBeUndefined();
    const text = await (await api.http("/metrics")).text();
    expect(text.split("\n").filter((l) => l.startsWith("rate_limited_total{"))).toEqual(['rate_limited_total{scope="anonymous"} 1']);
  });

  it("weights an operation by its cost: an expensive page uses up the budget sooner than `me`", async () => {
    const cheap = await api.token("cheap.limits@example.com");
    const costly = await api.token("costly.limits@example.com");
    const admitted = async (run: () => Promise<{ status: number }>) => {
      let n = 0;
      while ((await run()).status !== 429 && n < 100) n++;
      return n;
    };
    const cheapCount = await admitted(() => api.gql(MeDocument, {}, cheap));
    // notes(first: 50) with viewerCan costs well over 100: more than 2 points each.
    const costlyCount = await admitted(() => api.gql(NotesWithPermissionsDocument, { first: 50 }, costly));
    process.stdout.write(`admitted in one minute with 30 points: me ${cheapCount}, notes(first: 50) with viewerCan ${costlyCount}\n`);
    // `me { id email roles }` costs 1 + 4/100 points.
    expect(cheapCount).toBe(28);
    expect(costlyCount).toBeLessThan(15);
    expect(costlyCount).toBeGreaterThan(0);
  });

  it("returns the request id, keeping a well-formed one from the client", async () => {
    const kept = await api.http("/healthz", { headers: { "x-request-id": "abc.DEF_123-x" } });
    expect(kept.headers.get("x-request-id")).toBe("abc.DEF_123-x");
    const replaced = await api.http("/healthz", { headers: { "x-request-id": "bad id; drop table" } });
    expect(replaced.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
    const fresh = await api.http("/healthz");
    expect(fresh.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("TRUST_PROXY: who the client is behind a proxy", () => {
  const anonymous = (api: TestApi, forwardedFor: string) =>
    api.http("/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
  /** The address on the log line of a refused (forged) webhook sent with this X-Forwarded-For. */
  const loggedAddress = async (api: TestApi, logLines: string[], forwardedFor: string) => {
    const requestId = `forged-${logLines.length}`;
    const res = await api.http("/webhooks/hanko", {
      method: "POST",
      headers: { "content-type": "application/json", "x-forwarded-for": forwardedFor, "x-request-id": requestId },
      body: JSON.stringify({ token: "forged" }),
    });
    expect(res.status).toBe(401);
    const lines = logLines.map((l) => JSON.parse(l) as { reqId?: string; ip?: string; msg: string }).filter((l) => l.reqId === requestId);
    expect(lines.map((l) => l.msg)).toContain("hanko webhook refused");
    return [...new Set(lines.map((l) => l.ip))];
  };

  it.each([
    ["its address", "127.0.0.1"],
    ["a range holding it", "10.0.0.0/8,127.0.0.0/8"],
    ["one hop", "1"],
  ])("from a peer trusted by %s, X-Forwarded-For decides the anonymous bucket and the logged address", async (_name, trusted) => {
    const logLines: string[] = [];
    const api = await startTestApi({ RATE_LIMIT_ANON_PER_MINUTE: "3", TRUST_PROXY: trusted, LOG_LEVEL: "info" }, { logLines });
    try {
      for (let i = 0; i < 3; i++) expect((await anonymous(api, "203.0.113.7")).status).toBe(200);
      expect((await anonymous(api, "203.0.113.7")).status).toBe(429);
      // Another client behind the same proxy has a budget of its own, and so has the proxy itself.
      expect((await anonymous(api, "198.51.100.2, 203.0.113.8")).status).toBe(200);
      expect((await api.http("/healthz")).status).toBe(200);
      expect(await loggedAddress(api, logLines, "203.0.113.9")).toEqual(["203.0.113.9"]);
    } finally {
      await api.stop();
    }
  });

  it.each([
    ["unset", {}],
    ["naming other proxies", { TRUST_PROXY: "10.0.0.0/8,192.0.2.1" }],
  ])("from an untrusted peer (%s), a spoofed X-Forwarded-For is ignored: every value shares the peer's budget", async (_name, env) => {
    const logLines: string[] = [];
    const api = await startTestApi({ RATE_LIMIT_ANON_PER_MINUTE: "3", LOG_LEVEL: "info", ...env }, { logLines });
    try {
      expect((await anonymous(api, "203.0.113.1")).status).toBe(200);
      expect((await anonymous(api, "203.0.113.2")).status).toBe(200);
      expect((await anonymous(api, "203.0.113.3")).status).toBe(200);
      expect((await anonymous(api, "203.0.113.4")).status).toBe(429);
      expect(await loggedAddress(api, logLines, "203.0.113.5")).toEqual(["127.0.0.1"]);
    } finally {
      await api.stop();
    }
  });
});

describe("database outage", () => {
  let proxy: TcpProxy;
  let api: TestApi;
  let alice: string;

  beforeAll(async () => {
    const direct = new URL(await createTestDatabase());
    proxy = await startTcpProxy(new URL(`http://${direct.host}`));
    const viaProxy = new URL(direct);
    viaProxy.host = new URL(proxy.url).host;
    api = await startTestApi({
      DATABASE_URL: viaProxy.toString(),
      DATABASE_CONNECT_TIMEOUT_MS: "500",
      DATABASE_QUERY_TIMEOUT_MS: "1000",
    });
    alice = await api.token("alice.dbdown@example.com");
    dataOf(await api.gql(CreateNoteDocument, { input: { title: "before the outage" } }, alice));
  });
  afterAll(async () => {
    proxy.mode = "forward";
    await api.stop();
    await proxy.close();
  });

  it.each(["refuse", "hang"] as const)("%s: /readyz and GraphQL answer 503 DATABASE_UNAVAILABLE, then recover", async (mode) => {
    proxy.mode = mode; // also cuts the pool's open connections
    const started = Date.now();
    const ready = await api.http("/readyz");
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({ status: "unavailable", database: "down" });

    const res = await api.gql(NotesDocument, { first: 5 }, alice);
    expect(res.status).toBe(503);
    expect(codes(res)).toContain("DATABASE_UNAVAILABLE");
    expect(codes(res)).not.toContain("INTERNAL_SERVER_ERROR");
    const write = await api.gql(CreateNoteDocument, { input: { title: "during the outage" } }, alice);
    expect(write.status).toBe(503);
    expect(codes(write)).toEqual(["DATABASE_UNAVAILABLE"]);
    expect(Date.now() - started).toBeLessThan(10_000);
    // A new user's first request needs the database too.
    const newcomer = await api.token(`newcomer.${mode}@example.com`);
    const first = await api.gql(MeDocument, {}, newcomer);
    expect(first.status).toBe(503);
    expect(codes(first)).toEqual(["DATABASE_UNAVAILABLE"]);

    proxy.mode = "forward";
    expect((await api.http("/readyz")).status).toBe(200);
    const list = await api.gql(NotesDocument, { first: 100 }, alice);
    expect(list.errors).toBeUndefined();
    expect(list.data!.notes.edges.map((e) => e.node.title)).not.toContain("during the outage");
    expect((await api.gql(MeDocument, {}, newcomer)).errors).toBeUndefined();
  });
});
