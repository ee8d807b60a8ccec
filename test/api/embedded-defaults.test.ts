/**
 * `npm start` as a user runs it: a real process on embedded defaults (embedded PostgreSQL,
 * local PDP, dev issuer) with a fresh data dir, then again on the same, reused data dir; and
 * SIGINT leaves no PostgreSQL process behind.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runCliProcess, withoutServiceSettings } from "../support/cli";

const ROOT = path.resolve(__dirname, "../..");
let dataDir: string;

interface Server {
  child: ChildProcess;
  url: string;
  log: () => string;
}

async function start(dir = dataDir): Promise<Server> {
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["src/main.ts"], {
    cwd: ROOT,
    // Nothing but PORT and DATA_DIR: every other port is picked free.
    env: { ...withoutServiceSettings(process.env), DATA_DIR: dir, PORT: "0", LOG_LEVEL: "info", NODE_ENV: "development" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "ready" line within 60 s:\n${output}`)), 60_000);
    child.stdout!.on("data", () => {
      const ready = /"url":"(http:\/\/[^"]+)\/graphql","msg":"notes API ready"/.exec(output);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]!);
      }
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}:\n${output}`)));
  });
  return { child, url, log: () => output };
}

async function stop(server: Server): Promise<number | null> {
  const exited = new Promise<number | null>((resolve) => server.child.on("exit", (code) => resolve(code)));
  server.child.kill("SIGINT");
  return exited;
}

async function gql(url: string, token: string, query: string) {
  const res = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query }),
  });
  return (await res.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
}

async function token(url: string, email: string): Promise<string> {
  const res = await fetch(`${url}/dev/token`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email }) });
  return ((await res.json()) as { token: string }).token;
}

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-api-embedded-"));
});
afterAll(() => rm(dataDir, { recursive: true, force: true }));

it("serves on a fresh data dir, keeps everything on a reused one, and stops cleanly", async () => {
  const first = await start();
  const alice = await token(first.url, "alice@example.com");
  const created = await gql(first.url, alice, `mutation { createNote(input: { title: "kept" }) { id } }`);
  expect(created.errors).toBeUndefined();
  const noteId = (created.data!.createNote as { id: string }).id;
  const postmasterPid = Number((await readFile(path.join(dataDir, "pg", "postmaster.pid"), "utf8")).split("\n")[0]);
  expect(postmasterPid).toBeGreaterThan(0);
  expect(await stop(first)).toBe(0);

  // SIGINT stopped PostgreSQL too: no postmaster left, and its pid file is gone.
  expect(existsSync(path.join(dataDir, "pg", "postmaster.pid"))).toBe(false);
  expect(() => process.kill(postmasterPid, 0)).toThrow();

  const second = await start();
  try {
    expect(second.log()).toContain("Nothing changed: the policy is already applied");
    // The dev signing key was reused: a token from the first run still verifies.
    const again = await gql(second.url, alice, `{ note(id: "${noteId}") { title viewerCan { put } } }`);
    expect(again.errors).toBeUndefined();
    expect(again.data!.note).toEqual({ title: "kept", viewerCan: { put: true } });
  } finally {
    expect(await stop(second)).toBe(0);
  }
}, 120_000);

it("runs two checkouts side by side with nothing set but PORT, and the CLIs find each one's PDP", async () => {
  const other = await mkdtemp(path.join(os.tmpdir(), "notes-api-embedded-b-"));
  const [a, b] = await Promise.all([start(dataDir), start(other)]);
  try {
    const ports = await Promise.all([dataDir, other].map(async (dir) => JSON.parse(await readFile(path.join(dir, "permit-local.json"), "utf8")) as { url: string }));
    expect(ports[0]!.url).not.toBe(ports[1]!.url);
    // Each API serves its own data: a note written to A is not in B.
    const alice = await token(a.url, "alice@example.com");
    const created = await gql(a.url, alice, `mutation { createNote(input: { title: "only in A" }) { id } }`);
    expect(created.errors).toBeUndefined();
    const inB = await gql(b.url, await token(b.url, "alice@example.com"), `{ notes(first: 100) { edges { node { title } } } }`);
    expect(JSON.stringify(inB.data)).not.toContain("only in A");
    // `npm run permit` talks to the PDP of the DATA_DIR it is given.
    for (const [dir, expected] of [[dataDir, "user"], [other, "user"]] as const) {
      const out = await runPermitCli(dir, ["roles", "alice@example.com"]);
      expect(out.code).toBe(0);
      expect(out.out).toContain(expected);
    }
    await runPermitCli(other, ["assign", "alice@example.com", "admin"]);
    expect((await runPermitCli(other, ["roles", "alice@example.com"])).out).toContain("admin");
    expect((await runPermitCli(dataDir, ["roles", "alice@example.com"])).out).not.toContain("admin");
  } finally {
    expect(await stop(a)).toBe(0);
    expect(await stop(b)).toBe(0);
    await rm(other, { recursive: true, force: true });
  }
}, 180_000);

const runPermitCli = (dir: string, args: string[]) => runCliProcess("src/cli/permit.ts", args, dir);

it("refuses a second start on a data dir a running one holds, saying why, and leaves the first serving", async () => {
  const first = await start();
  try {
    const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["src/main.ts"], {
      cwd: ROOT,
      env: { ...withoutServiceSettings(process.env), DATA_DIR: dataDir, PORT: "0", NODE_ENV: "development" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
    expect(code).toBe(1);
    expect(stderr).toMatch(/embedded PostgreSQL in .* is already running \(pid \d+\).*own DATA_DIR and PORT/);
    const alice = await token(first.url, "alice@example.com");
    expect((await gql(first.url, alice, `{ me { id } }`)).errors).toBeUndefined();
  } finally {
    expect(await stop(first)).toBe(0);
  }
}, 120_000);

it("refuses a wrong configuration at start, naming the variable", async () => {
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), ["src/main.ts"], {
    cwd: ROOT,
    env: { ...process.env, DATA_DIR: dataDir, PORT: "not-a-port" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on("exit", resolve));
  expect(code).toBe(2);
  expect(stderr).toContain("PORT");
}, 30_000);
