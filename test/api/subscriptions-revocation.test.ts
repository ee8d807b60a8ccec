/**
 * A session revoked while its WebSocket is open (HANKO_SESSION_CHECK=remote): the connection
 * re-verifies its session with Hanko on every round (here every 300 ms instead of 30 s) and is
 * closed with 4401 once Hanko says the session has ended; another session stays connected.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { decodeJwt } from "jose";
import { DevHankoIssuer } from "../../src/dev/hanko-issuer";
import { startTestApi, type TestApi } from "../support/api";
import { connect, type WsConnection } from "../support/subscriptions";

let api: TestApi;
let issuer: DevHankoIssuer;
let hanko: Server;
let keyDir: string;
const revoked = new Set<string>();
const connections: WsConnection[] = [];

beforeAll(async () => {
  keyDir = await mkdtemp(path.join(os.tmpdir(), "notes-hanko-"));
  issuer = await DevHankoIssuer.load({ dataDir: keyDir, audience: "notes-api" });
  // Hanko as the API sees it: its JWKS and POST /sessions/validate.
  hanko = createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") return void res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(issuer.jwks()));
    if (req.url === "/sessions/validate" && req.method === "POST") {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk.toString()));
      req.on("end", () => {
        const sessionId = decodeJwt((JSON.parse(body) as { session_token: string }).session_token).session_id as string;
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ is_valid: !revoked.has(sessionId) }));
      });
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => hanko.listen(0, "127.0.0.1", resolve));
  api = await startTestApi({
    HANKO_API_URL: `http://127.0.0.1:${(hanko.address() as AddressInfo).port}`,
    HANKO_SESSION_CHECK: "remote",
    WS_SESSION_RECHECK_MS: "300",
  });
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.dispose()));
  await api?.stop();
  await new Promise((resolve) => hanko.close(resolve));
  await rm(keyDir, { recursive: true, force: true });
});

it("closes the connection of a revoked session with 4401, and keeps a live one open", async () => {
  const revokedToken = await issuer.issueSessionToken({ email: "alice@example.com" });
  const liveToken = await issuer.issueSessionToken({ email: "alice@example.com" });
  const doomed = connect(api.url, revokedToken);
  const kept = connect(api.url, liveToken);
  connections.push(doomed, kept);
  await Promise.all([doomed.acknowledged, kept.acknowledged]);

  // Both survive a few re-checks while their sessions are valid.
  await new Promise((resolve) => setTimeout(resolve, 800));
  const stillOpen = await Promise.race([doomed.closed.then(() => "closed"), Promise.resolve("open")]);
  expect(stillOpen).toBe("open");

  const revokedAt = Date.now();
  revoked.add(decodeJwt(revokedToken).session_id as string);
  await expect(doomed.closed).resolves.toMatchObject({ code: 4401 });
  expect(Date.now() - revokedAt).toBeLessThan(2000);
  const keptState = await Promise.race([kept.closed.then(() => "closed"), new Promise((resolve) => setTimeout(() => resolve("open"), 800))]);
  expect(keptState).toBe("open");
});
