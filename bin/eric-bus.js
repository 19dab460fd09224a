#!/usr/bin/env node
// The package's `bin`: plain JavaScript, committed, so it exists in a clone before any build. npx, run in a
// clone, links the clone into its cache once and reuses that link; a `bin` pointing into dist/ before the
// build would leave it without the command until its cache is cleared. The command is dist/bridge/cli/main.js.
import { existsSync } from 'node:fs';

const main = new URL('../dist/bridge/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  console.error('eric-bus: the command is not built in this clone; run `npm run build:node` first');
  process.exit(1);
}
await import(main.href);
