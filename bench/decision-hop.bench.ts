/**
 * One decision call to a PDP in another process (the sidecar shape), sequential over loopback:
 * the project's client (`createPermitClient`: the SDK with its lean decision transport) against
 * the SDK's own client (axios throughout), and against the same POST without the SDK, over
 * plain `node:http` and over undici (the floor of the hop). Bulks of 1 check (a single note)
 * and of 65 (a list page's), and `me.roles`' user-permissions call; alternating rounds; p50
 * latency, the caller's CPU and the PDP's CPU per call.
 *
 *   npm run bench -- decision-hop
 */
import http from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { Permit } from "permitio";
import { Pool } from "undici";
import { createLogger } from "../src/common/logger";
import { createPermitClient } from "../src/permit/client";
import { median, percentile, processCpuMs, runBench, startSidecarPdp } from "./api-support";

const ROUNDS = 6;
const CALLS = 3000;
const WARMUP = 500;
const USER = "bench-user";

type Call = () => Promise<unknown>;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "decision-hop-"));
  const sidecar = await startSidecarPdp(dataDir);
  try {
    const project = createPermitClient({ apiKey: sidecar.apiKey, pdpUrl: sidecar.url, apiUrl: sidecar.url, timeoutMs: 5000 }, createLogger("silent"));
    const sdk = new Permit({ token: sidecar.apiKey, pdp: sidecar.url, apiUrl: sidecar.url, timeout: 5000, throwOnError: true, log: { level: "silent", json: false, label: "permit" }, retry: false, pdpRetry: false, multiTenancy: { useDefaultTenantIfEmpty: true } });
    await project.api.users.sync({ key: USER, email: "bench-user@bench.local" });
    await project.api.users.assignRole({ user: USER, role: "user", tenant: "default" });

    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    /** The floor: `body` POSTed to `path` over plain node:http, the answer parsed and checked. */
    const raw = (path: string, body: string, valid: (answer: unknown) => boolean) => {
      const target = new URL(`${sidecar.url}/${path}`);
      return () =>
        new Promise<void>((resolve, reject) => {
          const req = http.request(
            { hostname: target.hostname, port: target.port, path: target.pathname, method: "POST", agent, headers: { "content-type": "application/json", authorization: `Bearer ${sidecar.apiKey}`, "content-length": Buffer.byteLength(body) } },
            (res) => {
              const chunks: Buffer[] = [];
              res.on("data", (c: Buffer) => chunks.push(c));
              res.on("end", () => {
                if (res.statusCode !== 200 || !valid(JSON.parse(Buffer.concat(chunks).toString("utf8")))) reject(new Error(`unexpected answer ${res.statusCode}`));
                else resolve();
              });
            },
          );
          req.on("error", reject);
          req.end(body);
        });
    };

    const pool = new Pool(sidecar.url, { connections: 1 });
    /** The floor: `body` POSTed to `path` over undici, the answer parsed and checked. */
    const bare = (path: string, body: string, valid: (answer: unknown) => boolean) => async () => {
      const res = await pool.request({ path: `/${path}`, method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${sidecar.apiKey}` }, body });
      if (res.statusCode !== 200 || !valid(await res.body.json())) throw new Error(`unexpected answer ${res.statusCode}`);
    };

    /** The SDK's own client, the project's, plain node:http and the floor, for one kind of call: alternating rounds. */
    const compare = async (label: string, variants: [string, Call][]) => {
      const results = variants.map(() => ({ latencies: [] as number[], cpu: [] as number[], pdp: [] as number[] }));
      for (const [, call] of variants) for (let i = 0; i < WARMUP; i++) await call();
      for (let round = 0; round < ROUNDS; round++) {
        const order = variants.map((_, i) => i);
        if (round % 2 === 1) order.reverse();
        for (const i of order) {
          const call = variants[i]![1];
          const cpu0 = process.cpuUsage();
          const pdp0 = processCpuMs(sidecar.pid);
          for (let n = 0; n < CALLS; n++) {
            const started = performance.now();
            await call();
            results[i]!.latencies.push(performance.now() - started);
          }
          const cpu = process.cpuUsage(cpu0);
          results[i]!.cpu.push((cpu.user + cpu.system) / 1000 / CALLS);
          results[i]!.pdp.push((processCpuMs(sidecar.pid) - pdp0) / CALLS);
        }
      }
      variants.forEach(([name], i) => {
        const r = results[i]!;
        console.log(`  ${`${label}, ${name}`.padEnd(62)} ${percentile(r.latencies, 0.5).toFixed(3).padStart(7)} ${percentile(r.latencies, 0.99).toFixed(3).padStart(7)} ${median(r.cpu).toFixed(3).padStart(14)} ${median(r.pdp).toFixed(3).padStart(11)}`);
      });
      const floor = results[3]!;
      const toFloor = (i: number) => `p50 ${(percentile(results[i]!.latencies, 0.5) / percentile(floor.latencies, 0.5)).toFixed(2)}, caller CPU ${(median(results[i]!.cpu) / median(floor.cpu)).toFixed(2)}`;
      console.log(`  ratios to the floor: the SDK's own client ${toFloor(0)}; the project's client ${toFloor(1)}; plain node:http ${toFloor(2)}`);
    };

    console.log(`One decision call to the local PDP in its own process on loopback, sequential; ${ROUNDS} alternating rounds of ${CALLS} calls after ${WARMUP} of warm-up; medians of rounds.\n`);
    console.log(`  ${"call".padEnd(62)} ${"p50 ms".padStart(7)} ${"p99 ms".padStart(7)} ${"caller CPU ms".padStart(14)} ${"PDP CPU ms".padStart(11)}`);
    for (const size of [1, 65]) {
      const checks = Array.from({ length: size }, (_, i) => ({ user: USER, action: "get", resource: { type: "notes", key: `note-${i}`, attributes: { owner: i % 3 === 0 ? USER : "someone-else" } } }));
      // The body the SDK sends for these checks: the floor sends the same bytes.
      const body = JSON.stringify(checks.map((c) => ({ user: { key: c.user }, action: c.action, resource: { ...c.resource, tenant: "default" }, context: {} })));
      if (JSON.stringify(await sdk.bulkCheck(checks)) !== JSON.stringify(await project.bulkCheck(checks))) throw new Error("the two clients disagree");
      await compare(`bulkCheck(${size})`, [
        ["the SDK's own client (axios)", () => sdk.bulkCheck(checks)],
        ["the project's client", () => project.bulkCheck(checks)],
        ["plain node:http", raw("allowed/bulk", body, (a) => Array.isArray((a as { allow?: unknown }).allow))],
        ["plain undici (floor)", bare("allowed/bulk", body, (a) => Array.isArray((a as { allow?: unknown }).allow))],
      ]);
    }
    // `me.roles`: the caller's tenant roles, as src/authz/roles.ts asks them.
    const rolesOf = (permit: Permit) => permit.getUserPermissions({ key: USER }, ["default"], undefined, ["__tenant"]);
    const rolesBody = JSON.stringify({ user: { key: USER }, tenants: ["default"], resource_types: ["__tenant"] });
    if (JSON.stringify(await rolesOf(sdk)) !== JSON.stringify(await rolesOf(project))) throw new Error("the two clients disagree on the roles");
    await compare("getUserPermissions (me.roles)", [
      ["the SDK's own client (axios)", () => rolesOf(sdk)],
      ["the project's client", () => rolesOf(project)],
      ["plain node:http", raw("user-permissions", rolesBody, (a) => typeof a === "object" && a !== null)],
      ["plain undici (floor)", bare("user-permissions", rolesBody, (a) => typeof a === "object" && a !== null)],
    ]);
    await pool.close();
  } finally {
    await sidecar.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

runBench(main, 240_000);
