/**
 * Two real API processes (`node --import tsx src/main.ts`, NODE_ENV=production) on one
 * PostgreSQL database and one local PDP, as an operator runs replicas. Each replica reaches
 * Permit's REST API (the facts) and the PDP's decision endpoints through TCP proxies of its
 * own, so a test can slow, stall or cut one replica's way to either. Tokens come from a Hanko-shaped issuer whose JWKS this
 * test process serves. With `relayApi`, both replicas' way to Permit's REST API goes on through one
 * HTTP relay (support/http-relay.ts), which can refuse chosen fact writes as Permit would.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { Client } from "pg";
import type { Permit } from "permitio";
import { DevHankoIssuer } from "../../src/dev/hanko-issuer";
import type { LocalPdp } from "@notes/local-pdp";
import { createTestDatabase } from "./database";
import { outboxSettled } from "./pdp-state";
import { startHttpRelay, type HttpRelay } from "./http-relay";
import { startPolicyPdp } from "./policy-pdp";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

const ROOT = path.resolve(__dirname, "../..");

export interface GqlResult {
  status: number;
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
  extensions?: Record<string, unknown>;
}

export interface Replica {
  name: string;
  url: string;
  /** In front of this replica's PERMIT_API_URL. */
  apiProxy: TcpProxy;
  /** In front of this replica's PERMIT_PDP_URL (the decisions). */
  pdpProxy: TcpProxy;
  gql(query: string, variables?: Record<string, unknown>, token?: string): Promise<GqlResult>;
  /** Sends the signal and resolves with the exit code once the process has exited (null: killed by a signal). */
  kill(signal: NodeJS.Signals): Promise<number | null>;
  log(): string;
}

export interface ReplicaSet {
  a: Replica;
  b: Replica;
  pdp: LocalPdp;
  /** Plays Permit's dashboard: an SDK client straight to the PDP. */
  permit: Permit;
  /** Between both replicas' API proxies and Permit's REST API, when `relayApi` was asked for. */
  apiRelay?: HttpRelay;
  /** The shared database (for command-line tools). */
  databaseUrl: string;
  permitSettings: { apiKey: string; pdpUrl: string; apiUrl: string };
  /** The shared database, for assertions. */
  sql<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
  token(email: string): Promise<string>;
  /** A Hanko webhook token about the user with this email, signed with the sessions' key. */
  webhookToken(event: string, email: string): Promise<string>;
  userIdFor(email: string): string;
  /** Waits until every recorded fact has been acknowledged by the PDP. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export interface ReplicaOptions {
  /** OUTBOX_WAIT_MS of both replicas. */
  outboxWaitMs?: number;
  /** PERMIT_TIMEOUT_MS of both replicas. */
  permitTimeoutMs?: number;
  /** An empty or migrated database; by default a fresh one from the test cluster. */
  databaseUrl?: string;
  /** More environment for both replicas. */
  env?: Record<string, string>;
  /** Put an HTTP relay in front of Permit's REST API (`ReplicaSet.apiRelay`). */
  relayApi?: boolean;
}

export async function startReplicas(options: ReplicaOptions = {}): Promise<ReplicaSet> {
  const cleanups: (() => Promise<unknown>)[] = [];
  const stop = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups.length = 0;
  };
  try {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-replicas-"));
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    const issuer = await DevHankoIssuer.load({ dataDir, audience: "notes-api" });
    const jwks = await serveJwks(issuer);
    cleanups.push(() => new Promise((resolve) => jwks.close(resolve)));

    const apiKey = `permit_key_${randomBytes(12).toString("hex")}`;
    const { pdp, permit } = await startPolicyPdp(apiKey);
    cleanups.push(() => pdp.close());
    const databaseUrl = options.databaseUrl ?? (await createTestDatabase());
    const db = new Client({ connectionString: databaseUrl });
    await db.connect();
    cleanups.push(() => db.end());

    const shared = {
      NODE_ENV: "production",
      HOST: "127.0.0.1",
      PORT: "0",
      LOG_LEVEL: "info",
      DATA_DIR: dataDir,
      DATABASE_URL: databaseUrl,
      HANKO_API_URL: `http://127.0.0.1:${(jwks.address() as AddressInfo).port}`,
      PERMIT_API_KEY: apiKey,
      PERMIT_PDP_URL: pdp.url,
      CURSOR_SECRET: randomBytes(32).toString("base64url"),
      OUTBOX_WAIT_MS: String(options.outboxWaitMs ?? 3000),
      PERMIT_TIMEOUT_MS: String(options.permitTimeoutMs ?? 3000),
      ...options.env,
    };
    const apiRelay = options.relayApi ? await startHttpRelay(new URL(pdp.url)) : undefined;
    if (apiRelay) cleanups.push(() => apiRelay.close());
    const start = async (name: string) => {
      const apiProxy = await startTcpProxy(new URL(apiRelay?.url ?? pdp.url));
      cleanups.push(() => apiProxy.close());
      const pdpProxy = await startTcpProxy(new URL(pdp.url));
      cleanups.push(() => pdpProxy.close());
      const replica = await spawnReplica(name, { ...shared, PERMIT_API_URL: apiProxy.url, PERMIT_PDP_URL: pdpProxy.url }, { apiProxy, pdpProxy });
      cleanups.push(() => replica.kill("SIGKILL"));
      return replica;
    };
    // One after the other: the first applies the migrations (under an advisory lock anyway).
    const a = await start("A");
    const b = await start("B");

    const sql = async <T>(text: string, params: unknown[] = []) => (await db.query(text, params)).rows as T[];
    return {
      a,
      b,
      pdp,
      permit,
      apiRelay,
      databaseUrl,
      permitSettings: { apiKey, pdpUrl: pdp.url, apiUrl: pdp.url },
      sql,
      token: (email) => issuer.issueSessionToken({ email }),
      webhookToken: (event, email) => issuer.issueUserWebhookToken({ event, email }),
      userIdFor: (email) => issuer.userIdFor(email),
      settle: (timeoutMs = 30_000) => outboxSettled(sql, timeoutMs),
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function serveJwks(issuer: DevHankoIssuer): Promise<Server> {
  const server = createServer((req, res) => {
    if (req.url === "/.well-known/jwks.json") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(issuer.jwks()));
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return server;
}

async function spawnReplica(name: string, env: Record<string, string>, proxies: { apiProxy: TcpProxy; pdpProxy: TcpProxy }): Promise<Replica> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`replica ${name}: not ready within 60 s:\n${output}`)), 60_000);
    const onData = () => {
      const ready = /"url":"(http:\/\/[^"]+)\/graphql","msg":"notes API ready"/.exec(output);
      if (ready) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        resolve(ready[1]!);
      }
    };
    child.stdout!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`replica ${name} exited with ${code}:\n${output}`));
    });
  });
  return {
    name,
    url,
    ...proxies,
    async gql(query, variables = {}, token) {
      const res = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return { status: res.status, ...((await res.json()) as Omit<GqlResult, "status">) };
    },
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
    log: () => output,
  };
}
