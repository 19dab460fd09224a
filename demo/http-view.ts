// Panel 3's plain-HTTP side: a backend listener streamed by the browser's own EventSource (no
// library) through the bridge's HTTP face, beside the library's streams, and the curl lines that
// drive the same channel from a shell.
import { parseException } from '../src/index.js';
import { type CommandBox, commandBox, eventLine, h, logLine } from './dom.js';
import type { BridgeConfig } from './remote-panel.js';

/** What panel 3 wires up. */
export interface HttpView {
  /** Adds a listener over REST and streams it with an EventSource; resolves with what happened. */
  add(): Promise<string>;
  /** The curl lines for the current channel. */
  curl: CommandBox;
  /** The channel the panel works on now. */
  setChannel(id: string): void;
  /** Listens for events of this type too: an EventSource dispatches by type and has no "any type". */
  listenFor(type: string): void;
}

/** eric-bus's own event types, and what the demo's terminal line sends. */
const KNOWN_TYPES = ['hello', '_eric_channel_closed', '_eric_gap', '_eric_error'];

/** The bridge's HTTP origin, from its WebSocket URL (`ws://host:port/` → `http://host:port`). */
export function httpBase(wsUrl: string): string {
  const url = new URL(wsUrl);
  return `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
}

/** The view; its EventSource cards go into `cards`, beside the library's. */
export function httpView(
  config: BridgeConfig,
  cards: HTMLElement,
  { onListener }: { onListener: (id: string) => void },
): HttpView {
  const base = httpBase(config.url);
  const types = new Set(KNOWN_TYPES);
  /** Each open EventSource with its handler, so types learnt later reach it too. */
  const sources = new Map<EventSource, (event: Event) => void>();
  let channel: string | undefined;

  const curl = commandBox('remote-curl', 'Create a channel to see the curl lines.');
  async function add(): Promise<string> {
    if (channel === undefined) throw new Error('Create a channel first.');
    const c = channel;
    // A plain fetch to the REST route (its Authorization header makes the browser ask CORS first).
    const response = await fetch(`${base}/channels/${encodeURIComponent(c)}/listeners`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${config.token}` },
    });
    const body = (await response.json()) as { id?: string; error?: string };
    // The bridge's JSON error is the server's `Name('detail')`: thrown as its class, as the library would.
    if (!response.ok || body.id === undefined) {
      const text = body.error ?? `HTTP ${response.status}`;
      throw parseException(text) ?? new Error(text);
    }
    const id = body.id;
    onListener(id);
    // EventSource cannot set headers: the token goes in the query.
    const path = `/channels/${encodeURIComponent(c)}/listeners/${encodeURIComponent(id)}/events`;
    const url = `${base}${path}?token=${encodeURIComponent(config.token)}`;
    cards.append(eventSourceCard(url, `EventSource · listener ${id}`, `remote-sse-log-${id}`));
    return `Listener ${id} added over HTTP and streamed by the browser's own EventSource.`;
  }

  function eventSourceCard(url: string, title: string, testid: string): HTMLElement {
    const log = h('div', { class: 'log', 'data-testid': testid });
    const card = h('article', { class: 'card sse' }, h('header', {}, h('strong', {}, title)), log);
    const source = new EventSource(url);
    const show = (event: Event) => {
      const { type, data, lastEventId } = event as MessageEvent<string>;
      logLine(
        log,
        eventLine(lastEventId ? `id ${lastEventId}` : '', type, data),
        type.startsWith('_eric') ? 'system' : '',
      );
      if (type === '_eric_channel_closed') end('listener removed: EventSource closed');
    };
    const end = (note: string) => {
      source.close();
      sources.delete(source);
      logLine(log, note, 'system');
      card.classList.add('ended');
    };
    source.onopen = () => logLine(log, 'EventSource open', 'system');
    source.onerror = () =>
      source.readyState === EventSource.CLOSED
        ? end('EventSource closed by the bridge (refused or gone)')
        : logLine(log, 'EventSource reconnecting (it sends Last-Event-ID)…', 'system');
    source.onmessage = show;
    for (const type of types) source.addEventListener(type, show);
    sources.set(source, show);
    return card;
  }

  return {
    add,
    curl,
    setChannel(id) {
      channel = id;
      const auth = `-H 'Authorization: Bearer ${config.token}'`;
      const c = encodeURIComponent(id);
      curl.show([
        `curl -X POST '${base}/channels/${c}/messages' ${auth} -d '{"type": "hello", "payload": {"from": "curl"}}'`,
        `curl -X POST '${base}/channels/${c}/listeners' ${auth}`,
        `curl -N '${base}/channels/${c}/events?token=${encodeURIComponent(config.token)}'`,
      ]);
    },
    listenFor(type) {
      if (types.has(type)) return;
      types.add(type);
      for (const [source, show] of sources) source.addEventListener(type, show);
    },
  };
}
