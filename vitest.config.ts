import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Stops at once, with what to install, when redis-server or Chromium is missing.
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Two cores: files run in parallel forks, each with its own redis-server and relay.
    pool: 'forks',
    maxWorkers: 2,
  },
});
