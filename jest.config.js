/** Unit tests (npm test). The lab and the tool checks have their own runners. */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  testPathIgnorePatterns: ["/node_modules/", "<rootDir>/test/lab/", "<rootDir>/test/tools/"],
  transform: { "^.+\\.ts$": "ts-jest" },
  testTimeout: 30000,
};
