import { defineConfig } from 'vitest/config';

// Real Chromium driven by playwright-core; the files start their own servers on loopback.
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    environment: 'node',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    fileParallelism: false,
  },
});
