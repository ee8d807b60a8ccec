// @ts-check
import js from "@eslint/js";
import { createNodeResolver, importX } from "eslint-plugin-import-x";
import jest from "eslint-plugin-jest";
import tseslint from "typescript-eslint";

/**
 * The layers of src/, lowest first (docs/architecture.md). A module may import its own layer
 * and the layers below it, never one above: the lint fails otherwise. Entities and the policy
 * are plain data that every layer may read.
 */
const layers = [
  { name: "common", files: ["src/common/**", "src/@(config).ts"] },
  { name: "data", files: ["src/**/*.entity.ts", "src/authz/@(policy).ts"] },
  { name: "infrastructure", files: ["src/db/**", "src/outbox/**", "src/auth/**"] },
  { name: "permit", files: ["src/permit/**"] },
  { name: "features", files: ["src/{notes,workspaces,users,changes}/!(*.resolver|*.types).ts"] },
  { name: "authz", files: ["src/authz/**"] },
  { name: "live", files: ["src/live/!(*.resolver|*.types).ts"] },
  { name: "graphql", files: ["src/graphql/**", "src/**/*.resolver.ts", "src/**/*.types.ts"] },
  { name: "http", files: ["src/http/**"] },
  { name: "composition", files: ["src/@(app|main).ts", "src/dev/**", "src/cli/**"] },
];
const layerZones = layers.slice(0, -1).flatMap((layer, i) => {
  const below = layers.slice(0, i + 1).flatMap((l) => l.files);
  return layer.files.map((target) => ({
    target,
    from: layers.slice(i + 1).flatMap((l) => l.files),
    // A file can sit in a higher layer's folder yet belong to a lower layer (an entity in a feature folder).
    except: below.map((glob) => `${import.meta.dirname}/${glob}`),
    message: `the ${layer.name} layer may not import from a layer above it (docs/architecture.md)`,
  }));
});

export default tseslint.config(
  { ignores: ["dist/", "node_modules/", ".data/", "coverage/", "test/generated/", "examples/*/src/gql/"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_", destructuredArrayIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": ["error", { allow: ["error", "warn"] }],
    },
  },
  {
    files: ["**/*.test.ts", "test/**/*.ts", "packages/*/test/**/*.ts"],
    ...jest.configs["flat/recommended"],
    rules: {
      ...jest.configs["flat/recommended"].rules,
      // A focused test silently skips the rest of the suite.
      "jest/no-focused-tests": "error",
      "jest/no-disabled-tests": "error",
      "jest/expect-expect": ["error", { assertFunctionNames: ["expect", "expect*"] }],
    },
  },
  {
    files: ["src/**/*.ts"],
    // Tests may reach across layers to set up what they assert on.
    ignores: ["src/**/*.test.ts"],
    plugins: { "import-x": importX },
    settings: { "import-x/resolver-next": [createNodeResolver({ extensions: [".ts", ".js"] })] },
    rules: { "import-x/no-restricted-paths": ["error", { basePath: import.meta.dirname, zones: layerZones }] },
  },
  {
    // Configuration modules are the only readers of the environment: one for the API, one per package.
    files: ["src/**/*.ts", "packages/*/src/**/*.ts"],
    ignores: ["src/config.ts", "packages/*/src/config.ts", "**/*.test.ts"],
    rules: { "no-restricted-properties": ["error", { object: "process", property: "env", message: "Read the environment in config.ts only." }] },
  },
  {
    // Command-line tools print their results.
    files: ["src/cli/**/*.ts", "packages/local-pdp/src/main.ts", "bench/**/*.ts", "packages/*/bench/**/*.ts"],
    rules: { "no-console": "off" },
  },
  {
    // A workspace package is used through its public entry only (its package name).
    files: ["src/**/*.ts", "test/**/*.ts", "bench/**/*.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        { patterns: [{ group: ["@notes/*/**", "**/packages/**"], message: "Import a workspace package by its name only (its index.ts)." }] },
      ],
    },
  },
  {
    files: ["**/*.js", "**/*.cjs"],
    languageOptions: { globals: { module: "writable", require: "readonly", __dirname: "readonly" }, sourceType: "commonjs" },
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    // The explorer page's script runs in the browser as an ES module.
    files: ["src/http/explorer/static/**/*.js"],
    languageOptions: {
      sourceType: "module",
      globals: { window: "readonly", document: "readonly", fetch: "readonly", sessionStorage: "readonly", URL: "readonly" },
    },
  },
);
