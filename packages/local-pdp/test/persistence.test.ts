/** Durability: restarts, kill -9 after acknowledged writes, corrupt state, compaction, concurrent writes. */
import { spawn, type ChildProcess } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import { startLocalPdp } from "../src";
import { Database } from "../src/database";
import { StateFileError } from "../src/persistence";
import { API_KEY, applyTutorialPolicy, applyWorkspacePolicy, sdk, startHarness, syncUsers } from "./helpers";

const PACKAGE_DIR = path.resolve(__dirname, "..");
/** `node --import tsx` rather than the tsx CLI, which would run the server in a grandchild that SIGKILL does not reach. */
const NODE_ARGS = ["--import", "tsx", path.join(PACKAGE_DIR, "src/main.ts")];
const quiet = { info: () => {}, warn: () => {}, error: () => {} };

let dir: string;
beforeEach(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), "localpdp-state-"));
});
afterEach(async () => {
  await fs.rm(dir, { recursive: true, force: true });
});

interface Child {
  proc: ChildProcess;
  url: string;
}

/** Starts `src/main.ts` as `npm run pdp:local` would, and waits for its ready line. */
function spawnPdp(statePath: string): Promise<Child> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, NODE_ARGS, {
      cwd: PACKAGE_DIR,
      env: { ...process.env, LOCAL_PDP_API_KEY: API_KEY, LOCAL_PDP_PORT: "0", LOCAL_PDP_STATE: statePath, LOG_LEVEL: "info" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    const timer = setTimeout(() => {
      proc.kill("SIGKILL");
      reject(new Error(`local PDP did not start:\n${out}`));
    }, 20_000);
    proc.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      for (const line of out.split("\n")) {
        if (!line.includes("local PDP ready")) continue;
        clearTimeout(timer);
        resolve({ proc, url: (JSON.parse(line) as { url: string }).url });
        return;
      }
    });
    proc.stderr?.on("data", (chunk: Buffer) => (out += chunk.toString()));
    proc.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`local PDP exited with ${code}:\n${out}`));
    });
  });
}

function runToExit(statePath: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const proc = spawn(process.execPath, NODE_ARGS, {
      cwd: PACKAGE_DIR,
      env: { ...process.env, LOCAL_PDP_API_KEY: API_KEY, LOCAL_PDP_PORT: "0", LOCAL_PDP_STATE: statePath },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    proc.stdout?.on("data", (c: Buffer) => (output += c.toString()));
    proc.stderr?.on("data", (c: Buffer) => (output += c.toString()));
    const timer = setTimeout(() => proc.kill("SIGKILL"), 20_000);
    proc.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

function killed(proc: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    proc.once("exit", () => resolve());
    proc.kill("SIGKILL");
  });
}

test("state survives a clean restart", async () => {
  const statePath = path.join(dir, "localpdp.json");
  const first = await startHarness({ statePath });
  await applyTutorialPolicy(first.permit);
  await applyWorkspacePolicy(first.permit);
  await syncUsers(first.permit, ["alice", "bob"], "user");
  await first.permit.api.users.update("bob", { attributes: { plan: "premium" } });
  await first.permit.api.resourceInstances.create({ resource: "notes", key: "n1", tenant: "default", attributes: { owner: "alice" } });
  await first.permit.api.roleAssignments.assign({ user: "bob", role: "owner", resource_instance: "workspaces:w1", tenant: "default" });
  await first.permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "parent", object: "notes:n2", tenant: "default" });
  await first.pdp.close();

  const second = await startHarness({ statePath });
  try {
    const { permit } = second;
    expect(await permit.check("alice", "put", "notes:n1")).toBe(true);
    expect(await permit.check("bob", "put", "notes:n1")).toBe(false);
    expect(await permit.check("bob", "delete", "notes:n2")).toBe(true);
    expect(await permit.check("alice", "delete", "notes:n2")).toBe(false);
    expect((await permit.api.users.get("bob")).attributes).toEqual({ plan: "premium" });
    // Ids keep counting from where they were: no collision with records from before.
    const before = (await permit.api.users.get("alice")).id;
    const made = await permit.api.users.create({ key: "carol" });
    expect(made.id).not.toBe(before);
  } finally {
    await second.pdp.close();
  }
});

test("acknowledged writes survive kill -9 of the standalone server, including concurrent ones", async () => {
  const statePath = path.join(dir, "state", "localpdp.json");
  const first = await spawnPdp(statePath);
  try {
    const permit = sdk(first.url);
    await applyTutorialPolicy(permit);
    await applyWorkspacePolicy(permit);
    await syncUsers(permit, ["alice"]);
    await permit.api.roleAssignments.assign({ user: "alice", role: "owner", resource_instance: "workspaces:w1", tenant: "default" });
    // 60 writes in flight at once; each is acknowledged only once it is on disk.
    await Promise.all(
      Array.from({ length: 60 }, (_, i) =>
        permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "parent", object: `notes:k${i}`, tenant: "default" }),
      ),
    );
  } finally {
    await killed(first.proc);
  }

  const second = await spawnPdp(statePath);
  try {
    const permit = sdk(second.url);
    const tuples = await permit.api.relationshipTuples.list({ subject: "workspaces:w1", perPage: 100 });
    expect(tuples).toHaveLength(60);
    expect(await permit.check("alice", "delete", "notes:k59")).toBe(true);
    expect(await permit.check("alice", "delete", "notes:k60")).toBe(false);
    // It keeps accepting writes after recovery, and those survive the next kill too.
    await permit.api.relationshipTuples.create({ subject: "workspaces:w1", relation: "parent", object: "notes:after", tenant: "default" });
  } finally {
    await killed(second.proc);
  }

  const third = await spawnPdp(statePath);
  try {
    expect(await sdk(third.url).check("alice", "delete", "notes:after")).toBe(true);
  } finally {
    await killed(third.proc);
  }
}, 60_000);

test("a corrupt state file stops the start with a clear error", async () => {
  const statePath = path.join(dir, "localpdp.json");
  await fs.writeFile(statePath, '{"format":"permit-local-pdp-state","version":1,"seq":3,"state":{"resour');
  await expect(startLocalPdp({ apiKey: API_KEY, statePath })).rejects.toThrow(/corrupt.*refusing to start/);
  await expect(startLocalPdp({ apiKey: API_KEY, statePath })).rejects.toBeInstanceOf(StateFileError);

  const child = await runToExit(statePath);
  expect(child.code).not.toBe(0);
  expect(child.output).toMatch(/corrupt/);
  // The file is left as it was, for whoever repairs it.
  expect(await fs.readFile(statePath, "utf8")).toMatch(/"resour$/);
}, 30_000);

test("a corrupt journal line stops the start; a torn last line (never acknowledged) is dropped", async () => {
  const statePath = path.join(dir, "localpdp.json");
  const pdp = await startHarness({ statePath });
  await syncUsers(pdp.permit, ["alice", "bob"]);
  // Kill the in-process server without its final snapshot: copy the files while it runs.
  const journal = await fs.readFile(`${statePath}.journal`, "utf8");
  await pdp.pdp.close();
  const lines = journal.trimEnd().split("\n");
  expect(lines.length).toBeGreaterThanOrEqual(3);

  await fs.rm(statePath);
  await fs.writeFile(`${statePath}.journal`, `${lines.join("\n")}\n{"seq":99,"op":{"t":"user.cre`);
  const torn = await startHarness({ statePath });
  expect((await torn.permit.api.users.get("bob")).key).toBe("bob");
  await torn.pdp.close();

  await fs.rm(statePath);
  const broken = [...lines];
  broken[1] = "garbage";
  await fs.writeFile(`${statePath}.journal`, `${broken.join("\n")}\n`);
  await expect(startLocalPdp({ apiKey: API_KEY, statePath })).rejects.toThrow(/journal .* is corrupt/);
});

test("compaction rewrites the snapshot, and a journal left over from before it is not replayed twice", async () => {
  const statePath = path.join(dir, "localpdp.json");
  const db = await Database.open(statePath, quiet, { compactAtBytes: 4096 });
  for (let i = 0; i < 100; i++) await db.execute({ t: "user.create", user: { key: `u${i}`, attributes: { i } } });
  const journalSize = (await fs.stat(`${statePath}.journal`)).size;
  expect(journalSize).toBeLessThan(8192);
  const snapshot = JSON.parse(await fs.readFile(statePath, "utf8")) as { seq: number };
  expect(snapshot.seq).toBeGreaterThan(50);
  const leftover = await fs.readFile(`${statePath}.journal`, "utf8");
  await db.close();

  // As if the process died after the snapshot rename but before the journal was emptied.
  await fs.appendFile(`${statePath}.journal`, leftover);
  const again = await Database.open(statePath, quiet);
  expect(again.store.users.size).toBe(100);
  expect(again.store.users.get("u99")?.attributes).toEqual({ i: 99 });
  await again.close();
});

test("concurrent writes through the API are all applied, in order, and persisted", async () => {
  const statePath = path.join(dir, "localpdp.json");
  const first = await startHarness({ statePath });
  await applyTutorialPolicy(first.permit);
  const results = await Promise.allSettled([
    ...Array.from({ length: 40 }, (_, i) => first.permit.api.users.sync({ key: `c${i}` })),
    // Racing duplicates: exactly one create wins, the rest get 409.
    ...Array.from({ length: 10 }, () => first.permit.api.users.create({ key: "same" })),
  ]);
  expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(41);
  await Promise.all(Array.from({ length: 40 }, (_, i) => first.permit.api.roleAssignments.assign({ user: `c${i}`, role: "user", tenant: "default" })));
  await first.pdp.close();

  const second = await startHarness({ statePath });
  try {
    const page = await second.permit.api.users.list({ perPage: 100 });
    expect(page.total_count).toBe(41);
    const answers = await second.permit.bulkCheck(Array.from({ length: 40 }, (_, i) => ({ user: `c${i}`, action: "get", resource: "notes" })));
    expect(answers.every(Boolean)).toBe(true);
    expect(await second.permit.check("same", "get", "notes")).toBe(false);
  } finally {
    await second.pdp.close();
  }
});
