/**
 * A dedicated PostgreSQL connection that LISTENs on one channel, outside the pool (a pooled
 * connection would be handed to queries and lose its LISTEN). On an error or a lost
 * connection it connects again with backoff; notifications sent while it was away are lost
 * (NOTIFY keeps nothing), which `onReconnect` lets the caller tell its consumers.
 */
import { Client } from "pg";
import type { Logger } from "../common/logger";

export interface Listener {
  /** Resolves once the first LISTEN is in place (rejects if the first connection fails). */
  ready: Promise<void>;
  close(): Promise<void>;
}

export interface ListenOptions {
  databaseUrl: string;
  channel: string;
  onNotification(payload: string | undefined): void;
  /** Called after a lost connection is listening again. */
  onReconnect?(): void;
  logger: Logger;
  /** Longest wait between two connection attempts (default 10 s). */
  maxBackoffMs?: number;
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function listen(options: ListenOptions): Listener {
  const { logger } = options;
  const maxBackoffMs = options.maxBackoffMs ?? 10_000;
  let client: Client | null = null;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let backoffMs = 250;

  const connect = async (): Promise<void> => {
    const next = new Client({ connectionString: options.databaseUrl, keepAlive: true });
    next.on("notification", (message) => {
      if (message.channel === options.channel) options.onNotification(message.payload);
    });
    const lost = (error?: Error) => {
      if (client !== next) return;
      client = null;
      next.removeAllListeners("notification");
      void next.end().catch(() => undefined);
      if (closed) return;
      logger.warn({ err: error, channel: options.channel, retryInMs: backoffMs }, "notification listener lost its connection; reconnecting");
      schedule();
    };
    next.on("error", lost);
    next.on("end", () => lost());
    client = next;
    try {
      await next.connect();
      await next.query(`LISTEN ${quoteIdentifier(options.channel)}`);
    } catch (error) {
      if (client === next) client = null;
      next.removeAllListeners();
      next.on("error", () => undefined);
      await next.end().catch(() => undefined);
      throw error;
    }
    if (closed) await next.end().catch(() => undefined);
    backoffMs = 250;
  };

  const schedule = () => {
    clearTimeout(retry);
    retry = setTimeout(() => {
      connect().then(
        () => {
          logger.info({ channel: options.channel }, "notification listener connected again");
          options.onReconnect?.();
        },
        (error: unknown) => {
          if (closed) return;
          backoffMs = Math.min(backoffMs * 2, maxBackoffMs);
          logger.warn({ err: error, channel: options.channel, retryInMs: backoffMs }, "notification listener could not reconnect");
          schedule();
        },
      );
    }, backoffMs);
    retry.unref();
  };

  return {
    ready: connect(),
    async close() {
      closed = true;
      clearTimeout(retry);
      const current = client;
      client = null;
      if (current) await current.end().catch(() => undefined);
    },
  };
}
