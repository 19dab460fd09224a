// `npm start`: a SocketServer, the WebSocket bridge and Vite's dev server for the demo page,
// started together and stopped together (Ctrl-C), announced as one URL that carries the token.
import { createServer as createHttpServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createServer } from 'vite';
import { closeOnSignal } from '../bridge/signals.js';
import { startUp } from '../bridge/up.js';

const usage = `Usage: npm start [-- --host H] [--port N] [--bridge-port N]

Starts the eric-bus demo: a SocketServer on a Unix socket in a temporary directory, the
WebSocket bridge (with a fresh token) and the demo page, then prints the page's URL.
  --host H         interface for the page and the bridge (default 127.0.0.1)
  --port N         the page's port (default 5173; 0 picks a free one)
  --bridge-port N  the bridge's port (default: a free one)`;

const { values } = parseArgs({
  options: {
    host: { type: 'string', default: '127.0.0.1' },
    port: { type: 'string', default: '5173' },
    'bridge-port': { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (values.help) {
  console.log(usage);
  process.exit(0);
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const backend = await startUp({ host: values.host, port: Number(values['bridge-port']) });
// Vite in middleware mode on our own HTTP server: Vite then installs no signal or stdin
// handlers of its own, so one shutdown path closes page, bridge and server in order.
const http = createHttpServer();
const vite = await createServer({ root, logLevel: 'warn', server: { middlewareMode: true, hmr: { server: http } } });
http.on('request', vite.middlewares);
const port = await listen(http, Number(values.port), values.host);

const bridgeUrl = new URL(backend.url);
bridgeUrl.searchParams.delete('token');
// Keep ':' and '/' readable in the printed URL; both are legal in a query.
const param = (value: string) => encodeURIComponent(value).replace(/%3A/g, ':').replace(/%2F/g, '/');
const query = `bridge=${param(bridgeUrl.href)}&token=${param(backend.token)}&socket=${param(backend.socketPath)}`;
const page = `http://${values.host}:${port}/?${query}`;

// Handlers first, so a signal right after the URL appears still shuts everything down.
closeOnSignal(async () => {
  await vite.close();
  http.closeAllConnections();
  await new Promise((resolve) => http.close(resolve));
  await backend.close();
});

console.log(`eric-bus demo is running.

  page    ${page}
  bridge  ${bridgeUrl.href}
  socket  ${backend.socketPath}

Once panel 3 of the page has created a channel (its id is 1 if it is the first), send to it
from a terminal:
  npx eric-bus send --socket ${backend.socketPath} broadcast 1 hello '{"from": "terminal"}'
Ctrl-C stops the page, the bridge and the server.`);

/** Listens on `port`, or on a free port when that one is taken; resolves with the port. */
async function listen(server: Server, port: number, host: string): Promise<number> {
  const attempt = (p: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  await attempt(port).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    return attempt(0);
  });
  return (server.address() as { port: number }).port;
}
