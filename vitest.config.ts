import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// Two projects: the library under happy-dom (proves src/ runs in a browser-like global scope),
// and everything Node-side (real Unix sockets, WebSockets, worker threads).
export default defineConfig({
  // README examples import the package by name; in tests that name means the sources.
  resolve: {
    alias: [
      { find: /^eric-bus$/, replacement: here('./src/index.ts') },
      { find: /^eric-bus\/node$/, replacement: here('./bridge/index.ts') },
    ],
  },
  test: {
    projects: [
      { extends: true, test: { name: 'dom', include: ['test/dom/**/*.test.ts'], environment: 'happy-dom' } },
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
    ],
  },
});
