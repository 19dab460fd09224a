// `npm start`: a SocketServer, the WebSocket bridge and Vite's dev server for the demo page,
// started together and stopped together (Ctrl-C), announced as one URL that carries the token.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { signToken } from '../bridge/access/sign.js';
import { parseCommandArgs, portArg, starting } from '../bridge/cli/args.js';
import type { Subcommand } from '../bridge/cli/command.js';
import { exitWith, runCommand } from '../bridge/cli/run.js';
import { closeOnSignal } from '../bridge/signals.js';
import { startUp } from '../bridge/up.js';

/**
 * What the page's signed token grants: it creates its channels, which are then its own, and nothing
 * else (docs/security.md, "Scoped tokens"). An hour, renewed by the page as it nears its end.
 */
const PAGE_TOKEN = { sub: 'demo-page', grants: { create: true }, ttlSeconds: 3600 };

/** Where the page asks for a fresh token (demo/remote-panel.ts, TOKEN_PATH). */
const TOKEN_PATH = '/demo-token';

/** The page's port unless --port says otherwise; only this default moves when it is taken. */
const DEFAULT_PAGE_PORT = 5173;

const start: Subcommand = {
  summary: 'the eric-bus demo',
  usage: `Usage: npm start [-- [--host H] [--port N] [--bridge-port N]]

Starts the eric-bus demo: a SocketServer on a Unix socket in a temporary directory, the
WebSocket bridge (with a fresh shared token, and a fresh key for signed tokens) and the demo
page, with a signed token minted for it, then prints the page's URL.
  --host H         interface for the page and the bridge (default 127.0.0.1)
  --port N         the page's port (default ${DEFAULT_PAGE_PORT}, or a free one if that is taken;
                   0 picks a free one)
  --bridge-port N  the bridge's port (default: a free one)
  -h, --help       show this help`,
  async run(argv) {
    const { values } = parseCommandArgs(argv, {
      host: { type: 'string' },
      port: { type: 'string' },
      'bridge-port': { type: 'string' },
    });
    const host = values.host ?? '127.0.0.1';
    const pagePort = portArg(values.port, '--port');
    const bridgePort = portArg(values['bridge-port'], '--bridge-port') ?? 0;

    // What has started, closed in reverse order: on Ctrl-C, and on any failure while starting.
    const closers: (() => Promise<void>)[] = [];
    const closeAll = async () => {
      for (const close of closers.splice(0).reverse()) await close();
    };
    // Handlers first, so a signal at any point (even right after the URL appears) shuts down what runs.
    closeOnSignal(closeAll);
    try {
      // The key the page's signed tokens are minted with, in a private temp dir of its own.
      const keys = mkdtempSync(join(tmpdir(), 'eric-bus-keys-'));
      closers.push(async () => rmSync(keys, { recursive: true, force: true }));
      const secret = randomBytes(32).toString('base64url');
      const keyFile = join(keys, 'jwt.key');
      writeFileSync(keyFile, secret, { mode: 0o600 });
      const backend = await starting(() => startUp({ host, port: bridgePort, jwt: { keyFile } }), '--bridge-port');
      closers.push(() => backend.close());
      const pageToken = () => signToken(secret, PAGE_TOKEN);
      // Vite in middleware mode on our own HTTP server: Vite then installs no signal or stdin
      // handlers of its own, so one shutdown path closes page, bridge and server in order.
      const http = createHttpServer();
      const root = fileURLToPath(new URL('../..', import.meta.url));
      const vite = await createServer({
        root,
        logLevel: 'warn',
        server: { middlewareMode: true, hmr: { server: http } },
      });
      closers.push(async () => {
        await vite.close();
        http.closeAllConnections();
        await new Promise((resolve) => http.close(resolve));
      });
      http.on('request', (request, response) => {
        // The page's backend: a fresh token whenever the page asks (a real backend asks who it is first).
        if (request.url !== TOKEN_PATH) return vite.middlewares(request, response);
        pageToken().then(
          (token) => response.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-store' }).end(token),
          () => response.writeHead(500).end(),
        );
      });
      const port = await starting(() => listenForPage(http, host, pagePort));
      announce(backend, await pageToken(), host, port, pagePort === undefined && port !== DEFAULT_PAGE_PORT);
    } catch (error) {
      await closeAll();
      throw error;
    }
  },
};

/**
 * Listens on the port asked for (taken: an error), or on the default, moving to a free port only
 * when the default is taken.
 */
async function listenForPage(server: Server, host: string, asked: number | undefined): Promise<number> {
  const attempt = (port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve((server.address() as { port: number }).port);
      });
    });
  if (asked !== undefined) return attempt(asked);
  return attempt(DEFAULT_PAGE_PORT).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EADDRINUSE') throw error;
    return attempt(0);
  });
}

function announce(
  backend: Awaited<ReturnType<typeof startUp>>,
  pageToken: string,
  host: string,
  port: number,
  moved: boolean,
): void {
  const bridgeUrl = new URL(backend.url);
  bridgeUrl.searchParams.delete('token');
  // Keep ':' and '/' readable in the printed URL; both are legal in a query.
  const param = (value: string) => encodeURIComponent(value).replace(/%3A/g, ':').replace(/%2F/g, '/');
  const query = `bridge=${param(bridgeUrl.href)}&token=${param(pageToken)}&socket=${param(backend.socketPath)}`;
  const page = `http://${host.includes(':') ? `[${host}]` : host}:${port}/?${query}`;
  const note = moved
    ? `\n(port ${DEFAULT_PAGE_PORT} is in use, so the page is on port ${port}; --port N picks one)\n`
    : '';
  console.log(`eric-bus demo is running.
${note}
  page    ${page}
  bridge  ${bridgeUrl.href}
  socket  ${backend.socketPath}

Once panel 3 of the page has created a channel (its id is 1 if it is the first), send to it
from a terminal:
  npx eric-bus send --socket ${backend.socketPath} broadcast 1 hello '{"from": "terminal"}'
Ctrl-C stops the page, the bridge and the server.`);
}

exitWith('npm start', runCommand('npm start', start, process.argv.slice(2), 'npm start -- --help'));
