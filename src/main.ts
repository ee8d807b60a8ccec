/** Process entry: configuration → embedded defaults → database → PDP/Hanko wiring → server. */
import "reflect-metadata";
import { startApi } from "./app";
import { ConfigError, loadConfig } from "./config";
import { createLogger } from "./common/logger";
import { releaseSignalsFromExitHook } from "./db/embedded-postgres";

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  // Readable lines for a person at a terminal; JSON for everything else, and always in production.
  const logger = createLogger(config.logLevel, { pretty: config.nodeEnv !== "production" && process.stdout.isTTY === true });
  const api = await startApi(config, logger);
  logger.info({ url: `${api.url}/graphql` }, "notes API ready");

  // Graceful: stop accepting (new requests get 503 while closing), let in-flight requests finish,
  // give the outbox SHUTDOWN_DRAIN_MS to deliver, close the database. A stuck step cannot keep
  // the process alive forever: past the hard deadline it exits with 1.
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    const hardDeadlineMs = config.ops.shutdownDrainMs + 30_000;
    setTimeout(() => {
      logger.error({ hardDeadlineMs }, "shutdown took too long; exiting");
      process.exit(1);
    }, hardDeadlineMs).unref();
    api.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => shutdown("SIGINT"));
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  // This shutdown stops the embedded PostgreSQL cluster itself (api.stop()); the exit hook that
  // embedded-postgres installs on import would race it and exit with 130 first. It stays in
  // place until here, so a signal during start-up still stops a cluster being started.
  releaseSignalsFromExitHook();
}

main().catch((error: unknown) => {
  process.stderr.write(`The server could not start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
