/**
 * `npm run pdp:local`: the local PDP as a standalone server, configured by the environment
 * (see config.ts).
 */
import pino from "pino";
import { loadConfig } from "./config";
import { startLocalPdp } from "./index";

async function main(): Promise<void> {
  const loaded = loadConfig();
  const logger = pino({ name: "localpdp", level: loaded.logLevel });
  if (!loaded.ok) {
    logger.fatal(loaded.problem);
    process.exit(2);
  }
  const { statePath } = loaded.config;

  let pdp;
  try {
    pdp = await startLocalPdp({ ...loaded.config, logger });
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
