/** Jest runs TypeScript through ts-jest (transpile only: `npm run typecheck` is the type gate). */
/** @type {import('jest').Config} */
const api = {
  displayName: "api",
  testEnvironment: "node",
  roots: ["<rootDir>/src", "<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { diagnostics: false }],
    // jose 6 ships ESM only; jest's CommonJS runtime needs it transformed.
    "^.+/node_modules/jose/.+\\.js$": ["ts-jest", { diagnostics: false, tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!jose/)"],
  // Embedded PostgreSQL for the API's tests; jest runs it only when a test of this project runs.
  globalSetup: "<rootDir>/test/global-setup.ts",
  globalTeardown: "<rootDir>/test/global-teardown.ts",
};

/**
 * The suites whose answers come from the PDP, again with the embedded local PDP's decisions as
 * function calls (LOCAL_PDP_DECISIONS=in-process, the default of `npm start`): the other
 * project runs everything through the permitio SDK over HTTP. Both share one PostgreSQL
 * cluster (test/global-setup.ts starts it once).
 */
/** @type {import('jest').Config} */
const apiInProcess = {
  ...api,
  displayName: "api, in-process decisions",
  roots: ["<rootDir>/test"],
  testMatch: ["**/test/api/{authorization,notes,decision-ids,limits,subscriptions,subscriptions-revocation,note-changes}.test.ts"],
  setupFiles: ["<rootDir>/test/in-process-decisions.ts"],
};

/** @type {import('jest').Config} */
module.exports = {
  // The API (twice, see above), and every workspace package with its own jest.config.js.
  projects: [api, apiInProcess, "<rootDir>/packages/local-pdp"],
  // A global option: inside a project it would be ignored.
  testTimeout: 30000,
  maxWorkers: 2,
};
