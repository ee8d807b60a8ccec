/**
 * A Chromium for browser tests, on any machine `npm ci` ran on: Debian's `/usr/bin/chromium`
 * when it is installed, otherwise the one that `@sparticuz/chromium` ships inside its npm
 * package (unpacked into the temporary folder on first use; nothing is downloaded).
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";

export interface Chromium {
  executablePath: string;
  /** Flags the binary needs on top of the test's own. */
  args: string[];
  source: "debian" | "@sparticuz/chromium";
}

const DEBIAN = "/usr/bin/chromium";
const ROOT = path.resolve(__dirname, "../..");

export function findChromium(): Chromium {
  if (existsSync(DEBIAN)) return { executablePath: DEBIAN, args: [], source: "debian" };
  // The package is ESM-only and jest runs CommonJS: ask a plain Node process where it unpacked.
  const script = "const c = (await import('@sparticuz/chromium')).default; console.log(JSON.stringify({ executablePath: await c.executablePath(), args: c.args }));";
  const found = JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { cwd: ROOT, encoding: "utf8" })) as Omit<Chromium, "source">;
  return { ...found, source: "@sparticuz/chromium" };
}
