/**
 * Which Permit environment a command-line tool talks to: the one of PERMIT_API_KEY,
 * PERMIT_PDP_URL and PERMIT_API_URL when they are set; otherwise, for tools that may use it,
 * the embedded local PDP of a running `npm start`, found through `${DATA_DIR}/permit-local.json`,
 * which the embedded launcher writes when it starts the PDP (mode 0600, removed or left stale
 * on exit):
 *
 *     { "apiKey": "<bearer key the local PDP requires>", "url": "http://127.0.0.1:43121" }
 *
 * The local PDP serves both the PDP and the REST API on that one URL.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import type { Permit } from "permitio";
import { usesEmbedded, type Config } from "../config";
import type { Logger } from "../common/logger";
import { createPermitClient } from "../permit/client";
import { CommandError } from "./run";

/** The file the embedded launcher writes so that local tools can reach its PDP. */
const LOCAL_PDP_FILE = "permit-local.json";

export interface PermitTarget {
  apiKey: string;
  pdpUrl: string;
  apiUrl: string;
  /** Where the calls go, for messages (never the key). */
  description: string;
}

/** The environment of the PERMIT_* variables; undefined when they are unset (embedded default). */
export function configuredPermitTarget(config: Config): PermitTarget | undefined {
  if (usesEmbedded.permit(config)) return undefined;
  const { apiKey, pdpUrl, apiUrl } = config.permit as Required<Config["permit"]>;
  return { apiKey, pdpUrl, apiUrl, description: apiUrl };
}

/** The environment of the PERMIT_* variables, else the running embedded PDP. */
export async function resolvePermitTarget(config: Config): Promise<PermitTarget> {
  const configured = configuredPermitTarget(config);
  if (configured) return configured;
  const file = path.join(config.dataDir, LOCAL_PDP_FILE);
  let parsed: Partial<{ apiKey: string; url: string }>;
  try {
    parsed = JSON.parse(await readFile(file, "utf8")) as typeof parsed;
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === "ENOENT";
    throw new CommandError(
      missing
        ? `PERMIT_* are not set and ${file} does not exist: start the API with \`npm start\` (it runs the local PDP and writes that file), or set PERMIT_API_KEY, PERMIT_PDP_URL and PERMIT_API_URL.`
        : `${file} is not readable JSON: ${(err as Error).message}`,
    );
  }
  if (typeof parsed.apiKey !== "string" || typeof parsed.url !== "string" || !parsed.apiKey || !parsed.url) {
    throw new CommandError(`${file} must hold {"apiKey": "...", "url": "..."}.`);
  }
  const url = parsed.url.replace(/\/+$/, "");
  return { apiKey: parsed.apiKey, pdpUrl: url, apiUrl: url, description: `local PDP at ${url}` };
}

/** An SDK client for the target, with the environment's timeout. */
export function connectPermit(config: Config, target: PermitTarget, logger: Logger): Permit {
  return createPermitClient({ apiKey: target.apiKey, pdpUrl: target.pdpUrl, apiUrl: target.apiUrl, timeoutMs: config.permit.timeoutMs, pdpViaProxy: config.permit.pdpViaProxy }, logger);
}
