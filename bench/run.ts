/**
 * `npm run bench [-- <name filter>...]`: runs every `bench/*.bench.ts` and every
 * `packages/<package>/bench/*.bench.ts`, one after the other, each in its own Node process (a
 * benchmark owns its process: servers, timers, exit code), and prints their output followed by
 * a one-line summary per benchmark.
 */
import { spawn } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import path from "node:path";

const root = path.join(__dirname, "..");
const filters = process.argv.slice(2);

/** Benchmark files of one folder, relative to the repository root. */
function benchmarksIn(dir: string): string[] {
  const abs = path.join(root, dir);
  if (!existsSync(abs)) return [];
  return readdirSync(abs)
    .filter((f) => f.endsWith(".bench.ts"))
    .map((f) => path.join(dir, f));
}

const packageDirs = readdirSync(path.join(root, "packages"), { withFileTypes: true })
  .filter((d) => d.isDirectory())
  .map((d) => path.join("packages", d.name, "bench"));
const files = [
  ...benchmarksIn("bench").sort(),
  ...packageDirs.sort().flatMap((dir) => benchmarksIn(dir).sort()),
].filter((f) => filters.length === 0 || filters.some((x) => path.basename(f).includes(x)));

function run(file: string): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(root, file)], { stdio: "inherit", cwd: root });
    child.on("exit", (code) => resolve({ code, ms: performance.now() - started }));
  });
}

async function main(): Promise<void> {
  if (files.length === 0) {
    console.error(`no benchmark matches ${filters.join(", ")}`);
    process.exit(2);
  }
  const summary: string[] = [];
  for (const file of files) {
    console.log(`\n=== ${file} ===`);
    const { code, ms } = await run(file);
    summary.push(`${file.padEnd(44)} ${code === 0 ? "ok    " : `FAILED (exit ${code})`} ${(ms / 1000).toFixed(1)} s`);
  }
  console.log(`\n=== summary ===\n${summary.join("\n")}`);
  if (summary.some((line) => line.includes("FAILED"))) process.exit(1);
}

void main();
