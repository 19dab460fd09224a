import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const here = (path: string) => fileURLToPath(new URL(path, import.meta.url));

// README examples import the package by name; in tests that name means the sources, `eric-bus`
// picked as the package's export conditions pick it (the browser library, or its Node entry).
const packageNames = (library: string) => [
  { find: /^eric-bus$/, replacement: here(library) },
  { find: /^eric-bus\/node$/, replacement: here('./bridge/index.ts') },
];

// Two projects: the library under happy-dom (proves src/ runs in a browser-like global scope),
// and everything Node-side (real Unix sockets, WebSockets, worker threads).
export default defineConfig({
  test: {
    projects: [
      {
        extends: true,
        resolve: { alias: packageNames('./src/index.ts') },
        test: { name: 'dom', include: ['test/dom/**/*.test.ts'], environment: 'happy-dom' },
      },
      {
        extends: true,
        resolve: { alias: packageNames('./bridge/node-library.ts') },
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
