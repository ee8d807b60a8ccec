import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
import { Permit } from "permitio";
import { createLogger } from "../common/logger";
import { loadConfig } from "../config";
import { createPermitClient, describePermitError, isPermitUnavailable } from "./client";

type Mode = "allow" | "gzip" | "status 500" | "redirect" | "hang" | "truncated" | "not json" | "closes reused connections" | "closes every connection";

/** A PDP stand-in over real HTTP that answers `/allowed/bulk` as `mode` says, and keeps the headers it was sent. */
async function scriptedPdp() {
  const state: { mode: Mode; headers: http.IncomingHttpHeaders[]; connections: number } = { mode: "allow", headers: [], connections: 0 };
  const served = new WeakMap<object, number>();
  const server = http.createServer((req, res) => {
    state.headers.push(req.headers);
    const before = served.get(req.socket) ?? 0;
    served.set(req.socket, before + 1);
    // As a keep-alive timeout does: the connection is closed just as a request arrives on it.
    if (state.mode === "closes every connection" || (state.mode === "closes reused connections" && before > 0)) return req.socket.destroy();
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const checks = JSON.parse(Buffer.concat(chunks).toString("utf8") || "[]") as unknown[];
      const answer = JSON.stringify({ allow: checks.map((_, i) => ({ allow: i % 2 === 0 })) });
      switch (state.mode) {
        case "allow":
        case "closes reused connections":
        case "closes every connection":
          res.setHeader("content-type", "application/json");
          return res.end(answer);
        case "gzip":
          res.setHeader("content-type", "application/json");
          res.setHeader("content-encoding", "gzip");
          return res.end(zlib.gzipSync(answer));
        case "status 500":
          res.statusCode = 500;
          res.setHeader("content-type", "application/json");
          return res.end(JSON.stringify({ detail: "the engine failed" }));
        case "redirect":
          res.statusCode = 302;
          res.setHeader("location", "/elsewhere");
          return res.end();
        case "hang":
          return;
        case "truncated":
          res.setHeader("content-type", "application/json");
          res.setHeader("content-length", "1000");
          res.write(answer.slice(0, 5));
          return setTimeout(() => res.socket?.destroy(), 10);
        case "not json":
          res.setHeader("content-type", "text/plain");
          return res.end("the PDP is starting");
      }
    });
  });
  server.on("connection", () => (state.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, state, stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

const checks = [0, 1, 2].map((i) => ({ user: { key: "u1" }, action: "get", resource: { type: "notes", key: `n${i}`, tenant: "default" } }));

/** The project's client, and the SDK's own client (axios throughout): what the lean transport must match. */
function clients(url: string) {
  const lean = createPermitClient({ apiKey: "k", pdpUrl: url, apiUrl: url, timeoutMs: 150 }, createLogger("silent"));
  const reference = new Permit({ token: "k", pdp: url, apiUrl: url, timeout: 150, throwOnError: true, log: { level: "silent", json: false, label: "permit" }, retry: false, pdpRetry: false, multiTenancy: { useDefaultTenantIfEmpty: true } });
  return { lean, reference };
}

const outcome = (permit: Permit) =>
  permit.bulkCheck(checks, undefined, { throwOnError: true }).then(
    (decisions) => ({ decisions }),
    (error: unknown) => ({ failure: describePermitError(error), unavailable: isPermitUnavailable(error) }),
  );

describe("the decision transport", () => {
  let pdp: Awaited<ReturnType<typeof scriptedPdp>>;
  beforeEach(async () => (pdp = await scriptedPdp()));
  afterEach(() => pdp.stop());

  it("answers as axios's own adapter does, and is the one that sent the call", async () => {
    const { lean, reference } = clients(pdp.url);
    for (const mode of ["allow", "gzip"] as const) {
      pdp.state.mode = mode;
      expect(await outcome(lean)).toEqual({ decisions: [true, false, true] });
      expect(await outcome(reference)).toEqual({ decisions: [true, false, true] });
    }
    // The lean path asks for an unencoded answer; axios's adapter offers compression.
    expect(pdp.state.headers.map((h) => h["accept-encoding"])).toEqual(["identity", expect.stringContaining("gzip"), "identity", expect.stringContaining("gzip")]);
    expect(pdp.state.headers[0]!.authorization).toBe("Bearer k");
  });

  it.each(["status 500", "hang", "truncated", "not json"] as const)("fails as axios's own adapter does, and as unavailable: %s", async (mode) => {
    pdp.state.mode = mode;
    const { lean, reference } = clients(pdp.url);
    const [mine, theirs] = [await outcome(lean), await outcome(reference)];
    expect(mine).toEqual(theirs);
    expect(mine).toMatchObject({ unavailable: true });
  });

  it("reports a timeout in axios's words, after the client's timeout and not before", async () => {
    pdp.state.mode = "hang";
    const started = performance.now();
    const result = await outcome(clients(pdp.url).lean);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    expect(result).toMatchObject({ failure: { kind: "connection", message: expect.stringContaining("timeout of 150ms exceeded") }, unavailable: true });
  });

  it("fails as axios's own adapter does when nothing listens", async () => {
    await pdp.stop();
    const { lean, reference } = clients(pdp.url);
    const mine = await outcome(lean);
    expect(mine).toEqual(await outcome(reference));
    expect(mine).toMatchObject({ failure: { code: "ECONNREFUSED" }, unavailable: true });
    pdp = await scriptedPdp();
  });

  it("sends a call again, once, on a new connection when the pooled one was closed under it", async () => {
    const { lean } = clients(pdp.url);
    expect(await outcome(lean)).toEqual({ decisions: [true, false, true] });
    pdp.state.mode = "closes reused connections";
    expect(await outcome(lean)).toEqual({ decisions: [true, false, true] });
    // The first call, the one that met the closed connection, and its second attempt on a new one.
    expect(pdp.state.headers).toHaveLength(3);
    expect(pdp.state.connections).toBe(2);
  });

  it("where the SDK's own client, on its kept connection, fails the same call", async () => {
    const { reference } = clients(pdp.url);
    expect(await outcome(reference)).toEqual({ decisions: [true, false, true] });
    pdp.state.mode = "closes reused connections";
    expect(await outcome(reference)).toMatchObject({ failure: { message: expect.stringContaining("socket hang up") }, unavailable: true });
  });

  it("does not send again when a new connection fails, nor more than once: the call fails as unavailable", async () => {
    const { lean } = clients(pdp.url);
    pdp.state.mode = "closes every connection";
    expect(await outcome(lean)).toMatchObject({ failure: { kind: "connection", message: expect.stringContaining("socket hang up") }, unavailable: true });
    expect(pdp.state.headers).toHaveLength(1);
    // A pooled connection, then a new one, both closed: two requests, then the failure.
    pdp.state.mode = "allow";
    await outcome(lean);
    pdp.state.mode = "closes every connection";
    expect(await outcome(lean)).toMatchObject({ unavailable: true });
    expect(pdp.state.headers).toHaveLength(4);
  });

  it("does not follow a redirect: the call fails closed with its status", async () => {
    pdp.state.mode = "redirect";
    expect(await outcome(clients(pdp.url).lean)).toMatchObject({ failure: { kind: "connection", status: 302 }, unavailable: true });
    expect(pdp.state.headers).toHaveLength(1);
  });

  it("leaves every call to axios's adapter when the environment names a proxy, and only then", async () => {
    expect(loadConfig({ HTTPS_PROXY: "http://proxy.internal:3128" }).permit.pdpViaProxy).toBe(true);
    expect(loadConfig({}).permit.pdpViaProxy).toBe(false);
    const proxied = createPermitClient({ apiKey: "k", pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 150, pdpViaProxy: true }, createLogger("silent"));
    expect(await outcome(proxied)).toEqual({ decisions: [true, false, true] });
    expect(pdp.state.headers.map((h) => h["accept-encoding"])).toEqual([expect.stringContaining("gzip")]);
  });

  it("sends what the SDK's own client sends, but for the encoding it accepts", async () => {
    const { lean, reference } = clients(pdp.url);
    await outcome(lean);
    await outcome(reference);
    const [mine, theirs] = pdp.state.headers.map(({ host: _host, connection: _connection, "accept-encoding": _encoding, "user-agent": _agent, ...rest }) => rest);
    expect(mine).toEqual(theirs);
    expect(mine).toMatchObject({ authorization: "Bearer k", "content-type": "application/json", "x-permit-sdk-version": expect.any(String) });
  });
});
