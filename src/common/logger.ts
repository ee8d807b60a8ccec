/** One pino logger for the process; secrets are redacted wherever they could appear. */
import pino, { type Logger } from "pino";

export type { Logger };

export interface LoggerOptions {
  name?: string;
  /**
   * One readable line per event (pino-pretty, in a worker thread) instead of JSON: for a person
   * at a terminal in development. Log collectors always get JSON.
   */
  pretty?: boolean;
  /** Where JSON lines go instead of stdout (tests read the log from it). */
  destination?: pino.DestinationStream;
}

export function createLogger(level: string, options: LoggerOptions = {}): Logger {
  const settings: pino.LoggerOptions = {
    name: options.name ?? "notes-api",
    level,
    redact: {
      paths: ["req.headers.authorization", "req.headers.cookie", "*.token", "*.apiKey", "*.password", "token", "apiKey"],
      censor: "[redacted]",
    },
    ...(options.pretty
      ? { transport: { target: "pino-pretty", options: { singleLine: true, translateTime: "SYS:HH:MM:ss.l", ignore: "pid,hostname,name" } } }
      : {}),
  };
  return options.destination ? pino(settings, options.destination) : pino(settings);
}
