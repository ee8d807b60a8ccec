/**
 * Starts the real API in-process for a test file: its own database (cloned from the migrated
 * template), the local PDP over real HTTP on a free port, the dev Hanko issuer — the same
 * wiring `npm start` uses, on loopback.
 */
import "reflect-metadata";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { print } from "graphql";
import type { TypedDocumentNode } from "@graphql-typed-document-node/core";
import { startApi, type RunningApi } from "../../src/app";
import { loadConfig, type Config } from "../../src/config";
import { createLogger } from "../../src/common/logger";
import { MeDocument } from "../generated/graphql";
import { createTestDatabase } from "./database";

export interface GraphQLResponse<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string; [k: string]: unknown } }[];
}

export interface TestApi extends RunningApi {
  config: Config;
  dataDir: string;
  /** A Hanko-shaped session token from the dev issuer (through its HTTP route). */
  token(email: string): Promise<string>;
  /** Runs a typed operation over HTTP as the holder of `token` (anonymous without one). */
  gql<R, V>(document: TypedDocumentNode<R, V>, variables: V, token?: string, headers?: Record<string, string>): Promise<GraphQLResponse<R>>;
  /** Raw HTTP call to the API. */
  http(pathname: string, init?: RequestInit): Promise<Response>;
  /** Permit REST / PDP calls against the PDP the API uses (local PDP in tests). */
  pdp(pathname: string, init?: RequestInit): Promise<Response>;
}

export interface TestApiOptions {
  /** Receives every log line of the API (JSON), at LOG_LEVEL (give one in `env`). */
  logLines?: string[];
  /** Changes to the loaded configuration, for what no variable sets (e.g. production-only behaviour). */
  configure?: (config: Config) => Config;
}

export async function startTestApi(env: Record<string, string> = {}, options: TestApiOptions = {}): Promise<TestApi> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), "notes-api-data-"));
  const loaded = loadConfig({
    NODE_ENV: "test",
    PORT: "0",
    LOCAL_PDP_PORT: "0",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DATA_DIR: dataDir,
    DATABASE_URL: await createTestDatabase(),
    PERMIT_TIMEOUT_MS: "1500",
    // Through the permitio SDK over HTTP, unless the jest project asks for function calls (jest.config.js).
    LOCAL_PDP_DECISIONS: process.env.TEST_LOCAL_PDP_DECISIONS ?? "http",
    // Tests change the policy at run time; list plans then read it afresh for every page.
    LIST_PLAN_TTL_MS: "0",
    // Suites make many requests from one IP and user; the ops tests turn the limits on.
    RATE_LIMIT_PER_MINUTE: "0",
    RATE_LIMIT_ANON_PER_MINUTE: "0",
    ...env,
  });
  const config = options.configure ? options.configure(loaded) : loaded;
  const lines = options.logLines;
  const destination = lines ? { write: (line: string) => void lines.push(line) } : undefined;
  const api = await startApi(config, createLogger(config.logLevel, destination ? { destination } : {}));

  const http = (pathname: string, init?: RequestInit) => fetch(`${api.url}${pathname}`, init);
  return {
    ...api,
    config,
    dataDir,
    http,
    async stop() {
      await api.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
    async token(email: string) {
      const response = await http("/dev/token", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ email }),
      });
      if (response.status !== 200) throw new Error(`dev token: HTTP ${response.status} ${await response.text()}`);
      return ((await response.json()) as { token: string }).token;
    },
    async gql(document, variables, token, headers = {}) {
      const response = await http("/graphql", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          ...headers,
        },
        body: JSON.stringify({ query: print(document), variables }),
      });
      const body = (await response.json()) as GraphQLResponse<never>;
      return { status: response.status, data: body.data, errors: body.errors };
    },
    pdp(pathname: string, init: RequestInit = {}) {
      return fetch(`${api.permit.pdpUrl}${pathname}`, {
        ...init,
        headers: { authorization: `Bearer ${api.permit.apiKey}`, "content-type": "application/json", ...(init.headers ?? {}) },
      });
    },
  };
}

/** The data of a response that must succeed (a test's setup): throws with its errors otherwise. */
export function dataOf<T>(response: GraphQLResponse<T>): T {
  if (response.errors?.length || !response.data) throw new Error(`GraphQL request failed: ${JSON.stringify(response.errors ?? response)}`);
  return response.data;
}

/** `{name}@example.com` signed in through the API once (recorded, synced to the PDP): their token and user id. */
export async function signIn(api: TestApi, name: string): Promise<{ token: string; id: string }> {
  const token = await api.token(`${name}@example.com`);
  return { token, id: dataOf(await api.gql(MeDocument, {}, token)).me.id };
}

/** The error codes of a response, in order (for compact assertions). */
export function codes(response: GraphQLResponse<unknown>): (string | undefined)[] {
  return (response.errors ?? []).map((e) => e.extensions?.code);
}
