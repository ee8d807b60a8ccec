import http from "node:http";
import type { AddressInfo } from "node:net";
import { Permit } from "permitio";
import { createLogger } from "../common/logger";
import { createPermitClient } from "./client";

/** A PDP stand-in over real HTTP that counts connections and answers each bulk after a moment. */
async function countingPdp() {
  const state = { connections: 0, open: 0, maxOpen: 0 };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const checks = JSON.parse(Buffer.concat(chunks).toString("utf8")) as unknown[];
      setTimeout(() => {
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({ allow: checks.map(() => ({ allow: true })) }));
      }, 5);
    });
  });
  server.on("connection", (socket) => {
    state.connections += 1;
    state.maxOpen = Math.max(state.maxOpen, ++state.open);
    socket.on("close", () => (state.open -= 1));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, state, stop: () => new Promise<void>((resolve) => (server.closeAllConnections(), server.close(() => resolve()))) };
}

const check = { user: { key: "u1" }, action: "get", resource: { type: "notes", key: "n1", tenant: "default" } };
const burst = (permit: Permit) => Promise.all(Array.from({ length: 60 }, () => permit.bulkCheck([check, check], undefined, { throwOnError: true })));

describe("the PDP client's connections", () => {
  it("are kept alive and bounded: 60 concurrent calls share at most pdpMaxSockets connections, all answered", async () => {
    const pdp = await countingPdp();
    try {
      const permit = createPermitClient({ apiKey: "k", pdpUrl: pdp.url, apiUrl: pdp.url, timeoutMs: 5000, pdpMaxSockets: 4 }, createLogger("silent"));
      const answers = await burst(permit);
      expect(answers).toHaveLength(60);
      expect(answers.every((a) => a.length === 2 && a.every(Boolean))).toBe(true);
      expect(pdp.state.maxOpen).toBeLessThanOrEqual(4);
      // A second burst reuses them.
      await burst(permit);
      expect(pdp.state.connections).toBeLessThanOrEqual(4);
    } finally {
      await pdp.stop();
    }
  });

  it("are not bounded by the SDK itself: the same burst through its own client opens a connection per call", async () => {
    const pdp = await countingPdp();
    try {
      const permit = new Permit({ token: "k", pdp: pdp.url, apiUrl: pdp.url, log: { level: "silent", json: false, label: "permit" }, retry: false, pdpRetry: false });
      await burst(permit);
      expect(pdp.state.maxOpen).toBeGreaterThan(30);
    } finally {
      await pdp.stop();
    }
  });
});
