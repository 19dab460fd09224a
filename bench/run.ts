// `npm run bench`: runs every benchmark suite in turn, each printing its own table.
const suites = [
  './core.js',
  './socket.js',
  './socket-fanout.js',
  './sessions.js',
  './redis.js',
  './workers.js',
  './workers-browser.js',
  './tabs-browser.js',
  './queue.js',
  './bridge.js',
  './metrics.js',
  './tokens.js',
];
for (const suite of suites) await import(suite);
