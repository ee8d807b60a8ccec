/**
 * Runs the command-line tools in-process, as `npm run permit…` would. They find their database
 * and Permit through the environment (loadConfig, cli/permit-target.ts), so a test points the
 * environment at its test API for as long as it runs them. Or in a process of their own, on a
 * DATA_DIR's embedded defaults (`runCliProcess`).
 */
import { spawn } from "node:child_process";
import path from "node:path";
import type { Io } from "../../src/cli/run";
import type { TestApi } from "./api";

const ROOT = path.resolve(__dirname, "../..");

/** Points the command-line tools at `api`'s database and PDP; answers what puts process.env back. */
export function pointCommandLineAt(api: TestApi): () => void {
  return pointCommandLine({ dataDir: api.dataDir, databaseUrl: api.config.databaseUrl!, permit: api.permit });
}

/** Points the command-line tools at a database and a Permit environment; answers what puts process.env back. */
export function pointCommandLine(target: { dataDir?: string; databaseUrl: string; permit: { apiKey: string; pdpUrl: string; apiUrl: string } }): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    ...(target.dataDir ? { DATA_DIR: target.dataDir } : {}),
    DATABASE_URL: target.databaseUrl,
    PERMIT_API_KEY: target.permit.apiKey,
    PERMIT_PDP_URL: target.permit.pdpUrl,
    PERMIT_API_URL: target.permit.apiUrl,
  });
  return () => {
    process.env = saved;
  };
}

export interface CliRun {
  code: number;
  out: string[];
  err: string[];
  /** The stdout lines as one text. */
  text: string;
}

/** Runs a tool's `main` with `argv`, keeping what it prints. */
export async function runCli(main: (argv: string[], io: Io) => Promise<number>, ...argv: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err, text: out.join("\n") };
}

/** `env` without the settings that name a database, a PDP or Hanko: a process then uses its DATA_DIR's embedded defaults. */
export function withoutServiceSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const rest = { ...env };
  for (const name of Object.keys(rest)) if (/^(LOCAL_PDP_|PERMIT_|HANKO_|DATABASE_URL)/.test(name)) delete rest[name];
  return rest;
}

/** Runs `tsx <script> <args>` in a process of its own on `dataDir`; answers its exit code and output (stdout and stderr). */
export function runCliProcess(script: string, args: string[], dataDir: string): Promise<{ code: number | null; out: string }> {
  const child = spawn(path.join(ROOT, "node_modules/.bin/tsx"), [script, ...args], {
    cwd: ROOT,
    env: { ...withoutServiceSettings(process.env), DATA_DIR: dataDir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  child.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (out += chunk.toString()));
  return new Promise((resolve) => child.on("exit", (code) => resolve({ code, out })));
}
