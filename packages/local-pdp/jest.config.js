/**
 * The package's tests, run alone (`npx jest` here) or as a project of the root's `npm test`.
 * They start their own servers: no global setup. TypeScript through ts-jest, transpile only.
 */
/** @type {import('jest').Config} */
module.exports = {
  displayName: "local-pdp",
  testEnvironment: "node",
  roots: ["<rootDir>/src", "<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.tsx?$": ["ts-jest", { diagnostics: false }],
  },
  testTimeout: 30000,
};
