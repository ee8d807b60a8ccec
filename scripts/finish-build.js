/**
 * Runs after `tsc -p tsconfig.build.json` (`npm run build`) and makes `dist/` start on its own:
 * - copies the explorer's static files;
 * - makes each workspace package resolvable by name from the compiled code. In development its
 *   name resolves (npm workspaces symlink) to its TypeScript entry `src/index.ts`, which Node
 *   cannot load; `dist/node_modules/<name>` is found first from `dist/` and points at the
 *   compiled entry `dist/packages/<dir>/src/index.js` instead.
 */
const fs = require("node:fs");
const path = require("node:path");

const root = path.join(__dirname, "..");
const dist = path.join(root, "dist");

fs.cpSync(path.join(root, "src/http/explorer/static"), path.join(dist, "src/http/explorer/static"), { recursive: true });

for (const dir of fs.readdirSync(path.join(root, "packages"))) {
  const manifest = path.join(root, "packages", dir, "package.json");
  if (!fs.existsSync(manifest)) continue;
  const { name } = JSON.parse(fs.readFileSync(manifest, "utf8"));
  const compiled = path.join(dist, "packages", dir, "src", "index.js");
  if (!fs.existsSync(compiled)) throw new Error(`${name}: ${path.relative(root, compiled)} was not compiled`);
  const shim = path.join(dist, "node_modules", name);
  fs.mkdirSync(shim, { recursive: true });
  const target = path.relative(shim, compiled).split(path.sep).join("/");
  fs.writeFileSync(path.join(shim, "package.json"), `${JSON.stringify({ name, private: true, main: target }, null, 2)}\n`);
}
