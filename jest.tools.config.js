/** npm run test:tools: the rendered files checked by the real tools (root, Debian packages). */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test/tools"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": "ts-jest" },
  testTimeout: 60000,
  maxWorkers: 2,
};
