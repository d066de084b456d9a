/**
 * Three projects:
 * - unit: pages rendered with miniprogram-simulate against a scripted fake `wx` (no server);
 * - contract: every route in utils/api.js exists in the server's /openapi.json;
 * - journey: the same pages driven against a real `yiyue demo` server (tests/journey/global-setup.js).
 */
const common = {
  rootDir: __dirname,
  testEnvironment: 'jsdom',
  testEnvironmentOptions: { url: 'https://yiyue.test/' },
}

module.exports = {
  testTimeout: 20000,
  projects: [
    Object.assign({}, common, {
      displayName: 'unit',
      testMatch: ['<rootDir>/tests/unit/**/*.test.js'],
      setupFilesAfterEnv: ['<rootDir>/tests/support/unit-setup.js'],
    }),
    Object.assign({}, common, {
      displayName: 'contract',
      testEnvironment: 'node',
      testMatch: ['<rootDir>/tests/contract/**/*.test.js'],
      globalSetup: '<rootDir>/tests/support/server-setup.js',
      globalTeardown: '<rootDir>/tests/support/server-teardown.js',
    }),
    Object.assign({}, common, {
      displayName: 'journey',
      testMatch: ['<rootDir>/tests/journey/**/*.test.js'],
      globalSetup: '<rootDir>/tests/support/server-setup.js',
      globalTeardown: '<rootDir>/tests/support/server-teardown.js',
      setupFilesAfterEnv: ['<rootDir>/tests/support/journey-setup.js'],
    }),
  ],
}
