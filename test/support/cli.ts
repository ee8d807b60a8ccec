/**
 * Runs the command-line tools in-process, as `npm run permit…` would. They find their database
 * and Permit through the environment (loadConfig, cli/permit-target.ts), so a test points the
 * environment at its test API for as long as it runs them.
 */
import type { Io } from "../../src/cli/run";
import type { TestApi } from "./api";

/** Points the command-line tools at `api`'s database and PDP; answers what puts process.env back. */
export function pointCommandLineAt(api: TestApi): () => void {
  const saved = { ...process.env };
  Object.assign(process.env, {
    NODE_ENV: "test",
    LOG_LEVEL: "silent",
    DATA_DIR: api.dataDir,
    DATABASE_URL: api.config.databaseUrl!,
    PERMIT_API_KEY: api.permit.apiKey,
    PERMIT_PDP_URL: api.permit.pdpUrl,
    PERMIT_API_URL: api.permit.apiUrl,
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
