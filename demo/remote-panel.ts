import { type BridgeClient, type BridgeState, InvalidChannelException, RemoteChannel } from '../src/index.js';
import { commandBox, h, messageFields, streamCard } from './dom.js';
import { httpView } from './http-view.js';

/** Where the bridge is: `npm start` puts it in the page URL (`?bridge=ws://…&token=…&socket=…`). */
export interface BridgeConfig {
  url: string;
  token: string;
  socket?: string;
}

/** The path on the page's own server where `npm start` mints a fresh token for the page (scripts/start.ts). */
export const TOKEN_PATH = '/demo-token';

/**
 * The page's token for its BridgeClient: with a signed token in its URL (what `npm start` hands the
 * page), the page asks its backend for a fresh one each time it needs one
 * (docs/security.md, "Refreshing a token"); any other token (a shared one) is used as it is.
 */
export function pageToken(config: BridgeConfig): string | (() => Promise<string>) {
  if (config.token.split('.').length !== 3) return config.token;
  return async () => {
    const response = await fetch(TOKEN_PATH, { cache: 'no-store' });
    if (!response.ok) throw new Error(`${TOKEN_PATH} answered ${response.status}`);
    return (await response.text()).trim();
  };
}

/** Reads the bridge settings from the page URL; none when the page was opened without them. */
export function bridgeConfig(search = location.search): BridgeConfig | undefined {
  const params = new URLSearchParams(search);
  const url = params.get('bridge');
  const token = params.get('token');
  if (!url || !token) return undefined;
  return { url, token, socket: params.get('socket') ?? undefined };
}

const STATE_TEXT: Record<BridgeState, string> = {
  connecting: 'bridge: connecting…',
  connected: 'bridge: connected',
  reconnecting: 'bridge: reconnecting…',
  refused: 'bridge: refused (check the token)',
  closed: 'bridge: closed',
};

/** Keeps the top bar's badge in step with the client's connection state. */
export function showConnectionState(client: BridgeClient, badge: HTMLElement): void {
  const show = (state: BridgeState) => {
    badge.textContent = STATE_TEXT[state];
    badge.className = `badge ${state}`;
    badge.dataset.state = state;
  };
  show(client.state);
  client.onStateChange(show);
}

/** Why the panel's buttons are disabled while the bridge is not connected. */
const BLOCKED_TEXT: Record<Exclude<BridgeState, 'connected'>, string> = {
  connecting: 'Connecting to the bridge…',
  reconnecting:
    'The bridge does not answer (was the backend stopped?). Reconnecting; the buttons work again once it is back.',
  refused: 'The bridge refused this page (wrong or old token): open the URL that npm start printed.',
  closed: 'The connection to the bridge is closed.',
};

/** A listener id no server hands out: removing it asks only whether the channel still exists. */
const NO_SUCH_LISTENER = 'eric-bus-demo-probe';

/** Panel 3: a channel on the backend SocketServer, driven through the WebSocket bridge. */
export function remotePanel(client: BridgeClient | undefined, config: BridgeConfig | undefined): HTMLElement {
  const panel = h(
    'section',
    { class: 'panel', id: 'remote', 'data-testid': 'panel-remote' },
    h('h2', {}, '3 · Remote control'),
    h(
      'p',
      { class: 'lead' },
      'A channel that lives in the Node SocketServer, driven from this page through the WebSocket bridge.',
    ),
  );
  if (!client || !config) {
    panel.append(
      h(
        'p',
        { class: 'hint', 'data-testid': 'remote-missing' },
        'No bridge in this page’s URL. Run ',
        h('code', {}, 'npm start'),
        ' and open the URL it prints.',
      ),
    );
    return panel;
  }
  const bridge = client;
  let channel: RemoteChannel | undefined;
  /** True once the backend says the channel is gone (removed elsewhere, or a restarted backend). */
  let channelGone = false;
  /** The outcome of the last action; the status line shows it while nothing blocks the panel. */
  let note = 'Create a channel on the backend to begin.';
  const channelLabel = h('strong', { 'data-testid': 'remote-channel' }, 'none');
  const listenersBox = h('div', { class: 'listeners', 'data-testid': 'remote-listeners' });
  const fields = messageFields('remote', { type: 'ping', payload: '{"from": "page"}' });
  const { target } = fields;
  const status = h('p', { class: 'hint', 'data-testid': 'remote-status' });
  const terminal = commandBox('remote-terminal', 'Create a channel to see the terminal command.');
  const controls: HTMLButtonElement[] = [];
  const create = h(
    'button',
    { type: 'button', class: 'primary', 'data-testid': 'remote-create', onclick: () => run(createChannel) },
    'Create channel',
  );
  const http = httpView(config, listenersBox, {
    onListener: (id) => fields.addTarget(id, `listener ${id} (EventSource)`),
  });

  /**
   * Shows where the panel stands: buttons usable only when a click can work, and the status line
   * saying why not (the connection, or a channel gone) before the last action's outcome.
   */
  function render(): void {
    const state = bridge.state;
    const connected = state === 'connected';
    const blocked = connected
      ? channelGone
        ? `Channel ${channel!.id} no longer exists on the backend (removed from elsewhere, or the backend ` +
          'restarted). Create a new channel to go on.'
        : undefined
      : BLOCKED_TEXT[state];
    status.textContent = blocked ?? note;
    status.classList.toggle('blocked', blocked !== undefined);
    panel.dataset.connection = state;
    panel.dataset.channel = channel === undefined ? 'none' : channelGone ? 'removed' : 'live';
    create.disabled = !connected;
    create.title = connected ? '' : BLOCKED_TEXT[state];
    for (const control of controls) {
      control.disabled = blocked !== undefined || channel === undefined;
      control.title = blocked ?? (channel === undefined ? 'Create a channel first.' : '');
    }
    channelLabel.textContent = channel === undefined ? 'none' : `${channel.id}${channelGone ? ' (removed)' : ''}`;
  }

  /** Runs an action; its outcome (or its error) becomes the note, and an unknown channel marks it gone. */
  function run(action: () => Promise<string>): void {
    void action().then(
      (outcome) => {
        note = outcome;
        render();
      },
      (error: unknown) => {
        // Every action but Create is on the current channel: the backend no longer knows it.
        if (error instanceof InvalidChannelException && channel) channelGone = true;
        note = `Error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`;
        render();
      },
    );
  }

  /** A stream ended: its listener, or the whole channel, went away. Ask which, without side effects. */
  function checkChannel(): void {
    const current = channel;
    if (!current || channelGone || bridge.state !== 'connected') return;
    bridge.removeListener(current.id, NO_SUCH_LISTENER).then(
      () => {},
      (error: unknown) => {
        if (error instanceof InvalidChannelException && channel === current) {
          channelGone = true;
          render();
        }
      },
    );
  }

  async function createChannel(): Promise<string> {
    channel = await RemoteChannel.create(bridge);
    channelGone = false;
    const id = channel.id;
    listenersBox.replaceChildren();
    fields.clearTargets();
    const socket = config!.socket ?? '$SOCKET';
    terminal.show([`npx eric-bus send --socket ${socket} broadcast ${id} hello '{"from": "terminal"}'`]);
    http.setChannel(id);
    return `Created channel ${id} on the backend.`;
  }

  async function addListener(): Promise<string> {
    const current = channel!;
    const { id } = await current.addListener();
    fields.addTarget(id);
    const onEnd = () => {
      fields.removeTarget(id);
      checkChannel();
    };
    listenersBox.append(streamCard(`listener ${id}`, `remote-log-${id}`, current.messageStream(id), { onEnd }));
    return `Listener ${id} added and streaming.`;
  }

  async function watch(): Promise<string> {
    const testid = `remote-watch-${listenersBox.childElementCount}`;
    listenersBox.append(streamCard('watcher', testid, channel!.watch(), { onEnd: checkChannel }));
    return 'Watching the channel with a new listener.';
  }

  async function send(): Promise<string> {
    const msg = fields.message();
    http.listenFor(msg.type);
    if (target.value === '*') await channel!.broadcast(msg);
    else await channel!.dispatch(target.value, msg);
    return target.value === '*'
      ? `Broadcast '${msg.type}' on channel ${channel!.id}.`
      : `Dispatched '${msg.type}' to listener ${target.value}.`;
  }

  const button = (label: string, testid: string, onclick?: () => void, kind: 'button' | 'submit' = 'button') => {
    const element = h(
      'button',
      { type: kind, class: kind === 'submit' ? 'primary' : '', 'data-testid': testid, disabled: true, onclick },
      label,
    );
    controls.push(element);
    return element;
  };

  let connectedBefore = false;
  bridge.onStateChange((state) => {
    if (state === 'connected') {
      if (connectedBefore) {
        note = 'Connected to the bridge again.';
        checkChannel(); // a restarted backend has lost its channels
      }
      connectedBefore = true;
    }
    render();
  });

  panel.append(
    h(
      'div',
      { class: 'row' },
      create,
      h('span', {}, 'channel ', channelLabel),
      button('Add listener', 'remote-add', () => run(addListener)),
      button('Watch', 'remote-watch', () => run(watch)),
      button('Add EventSource listener', 'remote-sse-add', () => run(http.add)),
    ),
    h(
      'form',
      {
        class: 'row',
        onsubmit: (event: Event) => {
          event.preventDefault();
          run(send);
        },
      },
      fields.type,
      fields.payload,
      target,
      button('Send', 'remote-send', undefined, 'submit'),
    ),
    status,
    listenersBox,
    h('h3', {}, 'From a terminal'),
    h('p', { class: 'hint' }, 'Broadcast to this channel from a shell; it shows up in every listener above.'),
    terminal.element,
    h(
      'p',
      { class: 'hint' },
      'Or over plain HTTP, as the EventSource listeners above do: broadcast, add a listener, watch the channel.',
    ),
    http.curl.element,
  );
  render();
  return panel;
}
