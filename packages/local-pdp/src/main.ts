/**
 * `npm run pdp:local`: the local PDP as a standalone server.
 *   LOCAL_PDP_API_KEY (required)  bearer token clients must send
 *   LOCAL_PDP_PORT    (7766)      port on LOCAL_PDP_HOST (127.0.0.1)
 *   LOCAL_PDP_STATE   (DATA_DIR/localpdp.json, DATA_DIR defaults to .data) state file
 *   LOG_LEVEL         (info)      pino level
 */
import path from "node:path";
import pino from "pino";
import { startLocalPdp } from "./index";

async function main(): Promise<void> {
  const logger = pino({ name: "localpdp", level: process.env.LOG_LEVEL ?? "info" });
  const apiKey = process.env.LOCAL_PDP_API_KEY?.trim();
  if (!apiKey) {
    logger.fatal("LOCAL_PDP_API_KEY is required (the bearer token clients must send)");
    process.exit(2);
  }
  const rawPort = process.env.LOCAL_PDP_PORT?.trim() || "7766";
  if (!/^\d+$/.test(rawPort) || Number(rawPort) > 65535) {
    logger.fatal(`LOCAL_PDP_PORT must be a port number (got "${rawPort}")`);
    process.exit(2);
  }
  const dataDir = process.env.DATA_DIR?.trim() || ".data";
  const statePath = path.resolve(process.env.LOCAL_PDP_STATE?.trim() || path.join(dataDir, "localpdp.json"));

  let pdp;
  try {
    pdp = await startLocalPdp({
      apiKey,
      host: process.env.LOCAL_PDP_HOST?.trim() || "127.0.0.1",
      port: Number(rawPort),
      statePath,
      logger,
    });
  } catch (err) {
    logger.fatal({ err }, `local PDP could not start: ${(err as Error).message}`);
    process.exit(1);
  }
  const running = pdp;
  // One line on stdout that scripts (and the tests) can wait for.
  logger.info({ url: running.url, statePath }, "local PDP ready");

  const stop = (signal: string): void => {
    logger.info({ signal }, "local PDP stopping");
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "local PDP: error while stopping");
        process.exit(1);
      },
    );
  };
  process.once("SIGINT", () => stop("SIGINT"));
  process.once("SIGTERM", () => stop("SIGTERM"));
}

void main();
