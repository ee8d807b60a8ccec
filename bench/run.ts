/**
 * `npm run bench [-- <name filter>...]`: runs every `bench/*.bench.ts`, one after the other,
 * each in its own Node process (a benchmark owns its process: servers, timers, exit code), and
 * prints their output followed by a one-line summary per benchmark.
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import path from "node:path";

const dir = __dirname;
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith(".bench.ts"))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

function run(file: string): Promise<{ code: number | null; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", path.join(dir, file)], { stdio: "inherit", cwd: path.join(dir, "..") });
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
    summary.push(`${file.padEnd(28)} ${code === 0 ? "ok    " : `FAILED (exit ${code})`} ${(ms / 1000).toFixed(1)} s`);
  }
  console.log(`\n=== summary ===\n${summary.join("\n")}`);
  if (summary.some((line) => line.includes("FAILED"))) process.exit(1);
}

void main();
