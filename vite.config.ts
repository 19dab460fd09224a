import { defineConfig } from 'vite';

// `vite build` makes the library bundle (dist/lib); `vite build --mode demo` the static demo
// (dist/demo); `vite` serves the demo page.
export default defineConfig(({ command, mode }) =>
  command === 'build' && mode !== 'demo'
    ? {
        build: {
          outDir: 'dist/lib',
          emptyOutDir: true,
          sourcemap: true,
          lib: { entry: { index: 'src/index.ts', worker: 'src/workers/expose-handler.ts' }, formats: ['es'] },
          rollupOptions: { external: ['comlink'] },
        },
      }
    : {
        build: { outDir: 'dist/demo', emptyOutDir: true },
        worker: { format: 'es' },
        // The demo is the only page here; test fixtures have their own servers.
        optimizeDeps: { entries: ['index.html'] },
      },
);
