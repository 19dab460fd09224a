import { defineConfig } from 'vitest/config';

// Two projects: the library under happy-dom (proves src/ runs in a browser-like global scope),
// and everything Node-side (real Unix sockets, WebSockets, worker threads).
export default defineConfig({
  test: {
    projects: [
      { test: { name: 'dom', include: ['test/dom/**/*.test.ts'], environment: 'happy-dom' } },
      { test: { name: 'node', include: ['test/node/**/*.test.ts'], environment: 'node', testTimeout: 30_000, hookTimeout: 30_000 } },
    ],
  },
});
