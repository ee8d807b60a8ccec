/**
 * The API end to end (HTTP → shield → Authorizer → permitio SDK → local PDP → PostgreSQL):
 * PDP calls per operation, counted at the local PDP, and latency per operation as a ratio to
 * an authenticated `{ __typename }` measured in the same run (HTTP + token verification +
 * context, no PDP call and no query). Loopback only; every loop is bounded in count and time.
 *
 *   npx tsx bench/api.bench.ts
 */
import "reflect-metadata";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startApi } from "../src/app";
import { loadConfig } from "../src/config";
import { startEmbeddedPostgres } from "../src/db/embedded-postgres";
import { createLogger } from "../src/common/logger";

const ITERATIONS = 200;
const TIME_BUDGET_MS = 4000;

type Result = { data?: Record<string, { id: string }>; errors?: unknown[] };
type Post = (query: string, variables?: Record<string, unknown>) => Promise<Result>;

async function main(): Promise<void> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-api-bench-"));
  const pg = await startEmbeddedPostgres({ dataDir });
  await pg.createDatabase("bench");
  const config = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    LOCAL_PDP_PORT: "0",
    LOG_LEVEL: "silent",
    DATA_DIR: dataDir,
    DATABASE_URL: pg.urlFor("bench"),
  });
  const api = await startApi(config, createLogger("silent"));
  try {
    const token = async (email: string) => {
      const res = await fetch(`${api.url}/dev/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email }) });
      return ((await res.json()) as { token: string }).token;
    };
    const as = (t: string): Post => async (query, variables = {}) => {
      const res = await fetch(`${api.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${t}` },
        body: JSON.stringify({ query, variables }),
      });
      return (await res.json()) as Result;
    };
    const pdp = (p: string, method = "GET") =>
      fetch(`${api.permit.pdpUrl}${p}`, { method, headers: { authorization: `Bearer ${api.permit.apiKey}` } });

    const owner = as(await token("owner@bench.local"));
    const member = as(await token("member@bench.local"));
    const me = (await owner(`{ me { id } }`)).data!.me.id;
    await member(`{ me { id } }`);
    await fetch(`${api.permit.apiUrl}/v2/api-key/scope`, { headers: { authorization: `Bearer ${api.permit.apiKey}` } });

    // Seed: 200 personal notes and a workspace with 50 notes shared with a viewer.
    const scope = (await (await pdp("/v2/api-key/scope")).json()) as { project_id: string; environment_id: string };
    await fetch(`${api.permit.apiUrl}/v2/facts/${scope.project_id}/${scope.environment_id}/users/${me}`, {
      method: "PATCH",
      headers: { authorization: `Bearer ${api.permit.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify({ attributes: { plan: "premium" } }),
    });
    const ws = (await owner(`mutation { createWorkspace(input: { name: "bench" }) { id } }`)).data!.createWorkspace.id;
    await owner(`mutation($w: ID!) { shareWorkspace(workspaceId: $w, email: "member@bench.local", role: VIEWER) { role } }`, { w: ws });
    for (let i = 0; i < 200; i++) await owner(`mutation($t: String!) { createNote(input: { title: $t }) { id } }`, { t: `note ${i}` });
    let noteId = "";
    for (let i = 0; i < 50; i++) {
      noteId = (await owner(`mutation($t: String!, $w: ID) { createNote(input: { title: $t, workspaceId: $w }) { id } }`, { t: `ws ${i}`, w: ws })).data!.createNote.id;
    }

    const operations: [string, Post, string, Record<string, unknown>?][] = [
      ["baseline: { __typename }", owner, `{ __typename }`],
      ["me (roles from the PDP)", owner, `{ me { id roles } }`],
      ["note(id)", owner, `query($id: ID!) { note(id: $id) { id title } }`, { id: noteId }],
      ["note(id) + viewerCan", owner, `query($id: ID!) { note(id: $id) { id viewerCan { get put delete } } }`, { id: noteId }],
      ["notes(first: 20)", owner, `{ notes(first: 20) { edges { node { id title } } } }`],
      ["notes(first: 20) + viewerCan", owner, `{ notes(first: 20) { edges { node { id viewerCan { get put delete } } } } }`],
      ["notes(first: 100) + viewerCan", owner, `{ notes(first: 100) { edges { node { id viewerCan { get put delete } } } } }`],
      ["notes(first: 20) as ws viewer, user may not read all", member, `{ notes(first: 20) { edges { node { id } } } }`],
      ["workspace(id) + viewerCan", owner, `query($id: ID!) { workspace(id: $id) { name viewerCan { get put delete share addNote } } }`, { id: ws }],
      ["workspaces", owner, `{ workspaces { id } }`],
      ["updateNote", owner, `mutation($id: ID!) { updateNote(id: $id, input: { body: "x" }) { version } }`, { id: noteId }],
      ["createNote (in workspace)", owner, `mutation($w: ID) { createNote(input: { title: "b", workspaceId: $w }) { id } }`, { w: ws }],
    ];

    // One scenario needs `user` to lose notes:get so that the member reads through the workspace only.
    const rows: { name: string; calls: string; median: number; p95: number }[] = [];
    for (const [name, post, query, variables] of operations) {
      const restrict = name.includes("user may not read all");
      if (restrict) await pdpPermission("DELETE");
      await pdp("/local/stats/reset", "POST");
      const first = await post(query, variables);
      if (first.errors) throw new Error(`${name}: ${JSON.stringify(first.errors)}`);
      const stats = ((await (await pdp("/local/stats")).json()) as { requests: Record<string, number> }).requests;
      const bulk = stats["POST /allowed/bulk"] ?? 0;
      const single = stats["POST /allowed"] ?? 0;
      const other = Object.entries(stats)
        .filter(([route]) => !route.includes("/allowed") && !route.includes("/local/"))
        .reduce((sum, [, n]) => sum + n, 0);
      const times: number[] = [];
      const started = Date.now();
      while (times.length < ITERATIONS && Date.now() - started < TIME_BUDGET_MS) {
        const t0 = process.hrtime.bigint();
        await post(query, variables);
        times.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      if (restrict) await pdpPermission("POST");
      times.sort((x, y) => x - y);
      rows.push({
        name,
        calls: `${bulk} bulk, ${single} single${other ? `, ${other} REST` : ""}`,
        median: times[Math.floor(times.length / 2)]!,
        p95: times[Math.floor(times.length * 0.95)]!,
      });
    }

    const base = rows[0]!.median;
    console.log(`\nAPI end to end (${ITERATIONS} runs or ${TIME_BUDGET_MS / 1000} s per operation; ratio = median / baseline median)\n`);
    console.log(`${"operation".padEnd(52)} ${"PDP calls".padEnd(24)} ${"median ms".padStart(9)} ${"p95 ms".padStart(8)} ${"ratio".padStart(7)}`);
    for (const r of rows) {
      console.log(`${r.name.padEnd(52)} ${r.calls.padEnd(24)} ${r.median.toFixed(2).padStart(9)} ${r.p95.toFixed(2).padStart(8)} ${(r.median / base).toFixed(2).padStart(7)}`);
    }

    async function pdpPermission(method: "POST" | "DELETE") {
      await fetch(`${api.permit.apiUrl}/v2/schema/${scope.project_id}/${scope.environment_id}/roles/user/permissions`, {
        method,
        headers: { authorization: `Bearer ${api.permit.apiKey}`, "content-type": "application/json" },
        body: JSON.stringify({ permissions: ["notes:get"] }),
      });
    }
  } finally {
    await api.stop();
    await pg.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
