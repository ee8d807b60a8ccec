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

/** @type {import('jest').Config} */
module.exports = {
  // The API, and every workspace package with its own jest.config.js.
  projects: [api, "<rootDir>/packages/local-pdp"],
  // A global option: inside a project it would be ignored.
  testTimeout: 30000,
  maxWorkers: 2,
};
