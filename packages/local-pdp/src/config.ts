/**
 * Configuration of the standalone server (`npm run pdp:local`, main.ts): the only module of
 * this package that reads the environment. In-process users pass `LocalPdpOptions` instead.
 *   LOCAL_PDP_API_KEY (required)  bearer token clients must send
 *   LOCAL_PDP_PORT    (7766)      port on LOCAL_PDP_HOST (127.0.0.1); 0 picks a free port
 *   LOCAL_PDP_STATE   (DATA_DIR/localpdp.json, DATA_DIR defaults to .data) state file
 *   LOG_LEVEL         (info)      pino level
 */
import path from "node:path";

export interface StandaloneConfig {
  apiKey: string;
  host: string;
  port: number;
  /** Absolute. */
  statePath: string;
}

/** The log level is always known, so that a configuration problem can be logged. */
export type ConfigResult = { logLevel: string } & ({ ok: true; config: StandaloneConfig } | { ok: false; problem: string });

export function loadConfig(env: NodeJS.ProcessEnv = process.env): ConfigResult {
  const logLevel = env.LOG_LEVEL ?? "info";
  const apiKey = env.LOCAL_PDP_API_KEY?.trim();
  if (!apiKey) return { logLevel, ok: false, problem: "LOCAL_PDP_API_KEY is required (the bearer token clients must send)" };
  const rawPort = env.LOCAL_PDP_PORT?.trim() || "7766";
  if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535) {
    return { logLevel, ok: false, problem: `LOCAL_PDP_PORT must be a port number (got "${rawPort}")` };
  }
  const dataDir = env.DATA_DIR?.trim() || ".data";
  return {
    logLevel,
    ok: true,
    config: {
      apiKey,
      host: env.LOCAL_PDP_HOST?.trim() || "127.0.0.1",
      port: Number(rawPort),
      statePath: path.resolve(env.LOCAL_PDP_STATE?.trim() || path.join(dataDir, "localpdp.json")),
    },
  };
}
