import { execFileSync } from "node:child_process";
import path from "node:path";

const ROOT = path.resolve(__dirname, "../..");

/** Logs one event from a fresh process (pino's transports run in a worker thread of it). */
function logOnce(pretty: boolean): string {
  const script = `
    const { createLogger } = require("./src/common/logger");
    const logger = createLogger("info", { pretty: ${pretty} });
    logger.info({ user: "u1", token: "secret-token" }, "note created");
    logger.flush?.();`;
  return execFileSync(path.join(ROOT, "node_modules/.bin/tsx"), ["-e", script], { cwd: ROOT, encoding: "utf8" });
}

describe("logger", () => {
  it("writes one JSON object per event by default, with secrets redacted", () => {
    const line = JSON.parse(logOnce(false).trim()) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, msg: "note created", user: "u1", token: "[redacted]", name: "notes-api" });
  });

  it("writes one readable line per event when pretty, with secrets redacted", () => {
    // Colours are off when stdout is not a terminal, as here.
    const out = logOnce(true);
    const lines = out.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: note created \{"user":"u1","token":"\[redacted\]"\}$/);
  });
});
