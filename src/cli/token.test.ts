import { execFile } from "node:child_process";
import { promises as fs } from "node:fs";
import os from "node:os";
import path from "node:path";
import Fastify from "fastify";
import { createSessionVerifier } from "../auth/session-verifier";
import { DevHankoIssuer } from "../dev/hanko-issuer";
import { DEV_JWKS_PATH, registerDevHankoRoutes } from "../dev/hanko-routes";

const ROOT = path.resolve(__dirname, "../..");
const TSX = path.join(ROOT, "node_modules/.bin/tsx");

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      TSX,
      ["src/cli/token.ts", ...args],
      // A minimal environment: nothing from the developer's shell may select a real Hanko.
      { cwd: ROOT, env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), NODE_ENV: "development", ...env }, timeout: 20_000 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

let dataDir: string;
beforeAll(async () => {
  dataDir = await fs.mkdtemp(path.join(os.tmpdir(), "token-cli-"));
});
afterAll(async () => {
  await fs.rm(dataDir, { recursive: true, force: true });
});

describe("token CLI", () => {
  // Spawned together: each run pays tsx's start-up once, in parallel.
  let runs: Record<"ok" | "missing" | "bad" | "realHanko" | "production" | "webhook" | "badEvent", Run>;
  beforeAll(async () => {
    const env = { DATA_DIR: dataDir };
    const [ok, missing, bad, realHanko, production, webhook, badEvent] = await Promise.all([
      runCli(["A@B.c"], env),
      runCli([], env),
      runCli(["not-an-email"], env),
      runCli(["a@b.c"], { ...env, HANKO_API_URL: "https://hanko.example.test" }),
      runCli(["a@b.c"], { ...env, NODE_ENV: "production", DATABASE_URL: "postgres://x@localhost/db", PERMIT_API_KEY: "k", PERMIT_PDP_URL: "http://localhost:7766", PERMIT_API_URL: "http://localhost:8000", HANKO_API_URL: "https://hanko.example.test" }),
      runCli(["--webhook", "user.update.email.primary", "a@b.c", "new@b.c"], env),
      runCli(["--webhook", "USER DELETE", "a@b.c"], env),
    ]);
    runs = { ok, missing, bad, realHanko, production, webhook, badEvent };
  }, 30_000);

  it("prints only a token, which verifies against the issuer's JWKS", async () => {
    const { code, stdout, stderr } = runs.ok;
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);

    const issuer = await DevHankoIssuer.load({ dataDir, audience: "notes-api" });
    const app = Fastify();
    registerDevHankoRoutes(app, issuer, { nodeEnv: "test" });
    const baseUrl = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const verifier = createSessionVerifier({ jwksUrl: new URL(`${baseUrl}${DEV_JWKS_PATH}`), audience: "notes-api" });
      await expect(verifier.verify(stdout.trim())).resolves.toMatchObject({ userId: issuer.userIdFor("a@b.c"), email: "a@b.c" });
    } finally {
      await app.close();
    }
  });

  it("prints a webhook token with --webhook, which verifies as a webhook (and not as a session)", async () => {
    const { code, stdout, stderr } = runs.webhook;
    expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
    const issuer = await DevHankoIssuer.load({ dataDir, audience: "notes-api" });
    const app = Fastify();
    registerDevHankoRoutes(app, issuer, { nodeEnv: "test" });
    const baseUrl = await app.listen({ port: 0, host: "127.0.0.1" });
    try {
      const verifier = createSessionVerifier({ jwksUrl: new URL(`${baseUrl}${DEV_JWKS_PATH}`), audience: "notes-api" });
      await expect(verifier.verifyWebhook(stdout.trim())).resolves.toMatchObject({
        event: "user.update.email.primary",
        data: { id: issuer.userIdFor("a@b.c"), emails: [expect.objectContaining({ address: "new@b.c", is_primary: true })] },
      });
      await expect(verifier.verify(stdout.trim())).rejects.toMatchObject({ extensions: { reason: "not_a_session_token" } });
    } finally {
      await app.close();
    }
    expect(runs.badEvent.code).toBe(2);
  });

  it("exits 2 with usage on stderr for a missing or invalid email", () => {
    for (const run of [runs.missing, runs.bad]) {
      expect(run.code).toBe(2);
      expect(run.stdout).toBe("");
      expect(run.stderr).toMatch(/usage: npm run -s token -- <email>/);
    }
  });

  it("refuses when a real Hanko is configured or in production", () => {
    for (const run of [runs.realHanko, runs.production]) {
      expect(run.code).toBe(1);
      expect(run.stdout).toBe("");
    }
    expect(runs.realHanko.stderr).toMatch(/HANKO_API_URL/);
    expect(runs.production.stderr).toMatch(/production/);
  });
});
