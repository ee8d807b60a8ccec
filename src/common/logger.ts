/** One pino logger for the process; secrets are redacted wherever they could appear. */
import pino, { type Logger } from "pino";

export type { Logger };

export function createLogger(level: string, name = "notes-api"): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ["req.headers.authorization", "req.headers.cookie", "*.token", "*.apiKey", "*.password", "token", "apiKey"],
      censor: "[redacted]",
    },
  });
}
