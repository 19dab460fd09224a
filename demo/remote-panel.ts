import { type BridgeClient, type BridgeState, Message, RemoteChannel } from '../src/index.js';
import { h, parsePayload, streamCard } from './dom.js';
import { httpView } from './http-view.js';

/** Where the bridge is: `npm start` puts it in the page URL (`?bridge=ws://…&token=…&socket=…`). */
export interface BridgeConfig {
  url: string;
  token: string;
  socket?: string;
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
  const channelLabel = h('strong', { 'data-testid': 'remote-channel' }, 'none');
  const listenersBox = h('div', { class: 'listeners', 'data-testid': 'remote-listeners' });
  const target = h(
    'select',
    { 'aria-label': 'Send to', 'data-testid': 'remote-target' },
    h('option', { value: '*' }, 'everyone (broadcast)'),
  );
  const type = h('input', { value: 'ping', 'aria-label': 'Message type', 'data-testid': 'remote-type' });
  const payload = h('input', {
    value: '{"from": "page"}',
    'aria-label': 'Payload (JSON or text)',
    'data-testid': 'remote-payload',
  });
  const status = h('p', { class: 'hint', 'data-testid': 'remote-status' }, 'Create a channel on the backend to begin.');
  const terminal = h(
    'code',
    { class: 'cmd', 'data-testid': 'remote-terminal' },
    'Create a channel to see the terminal command.',
  );
  const controls: HTMLButtonElement[] = [];

  const report = (error: unknown) =>
    void (status.textContent = `Error: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
  const guarded = (task: () => Promise<void>) => () => void task().catch(report);
  const http = httpView(config, listenersBox, {
    onListener: (id) => target.append(h('option', { value: id }, `listener ${id} (EventSource)`)),
    report,
  });
  controls.push(http.button);

  async function createChannel(): Promise<void> {
    channel = await RemoteChannel.create(bridge);
    const id = channel.id;
    channelLabel.textContent = id;
    listenersBox.replaceChildren();
    target.replaceChildren(h('option', { value: '*' }, 'everyone (broadcast)'));
    for (const button of controls) button.disabled = false;
    const socket = config!.socket ?? '$SOCKET';
    terminal.textContent = `npx eric-bus send --socket ${socket} broadcast ${id} hello '{"from": "terminal"}'`;
    http.setChannel(id);
    status.textContent = `Created channel ${id} on the backend.`;
  }

  async function addListener(): Promise<void> {
    if (!channel) return;
    const { id } = await channel.addListener();
    target.append(h('option', { value: id }, `listener ${id}`));
    const onEnd = () => target.querySelector(`option[value="${id}"]`)?.remove();
    listenersBox.append(streamCard(`listener ${id}`, `remote-log-${id}`, channel.messageStream(id), { onEnd }));
    status.textContent = `Listener ${id} added and streaming.`;
  }

  function watch(): void {
    if (!channel) return;
    listenersBox.append(streamCard('watcher', `remote-watch-${listenersBox.childElementCount}`, channel.watch()));
    status.textContent = 'Watching the channel with a new listener.';
  }

  async function send(event: Event): Promise<void> {
    event.preventDefault();
    if (!channel) return;
    const msg = new Message(type.value.trim() || 'message', parsePayload(payload.value));
    http.listenFor(msg.type);
    if (target.value === '*') await channel.broadcast(msg);
    else await channel.dispatch(target.value, msg);
    status.textContent =
      target.value === '*'
        ? `Broadcast '${msg.type}' on channel ${channelLabel.textContent}.`
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

  panel.append(
    h(
      'div',
      { class: 'row' },
      h(
        'button',
        { type: 'button', class: 'primary', 'data-testid': 'remote-create', onclick: guarded(createChannel) },
        'Create channel',
      ),
      h('span', {}, 'channel ', channelLabel),
      button('Add listener', 'remote-add', guarded(addListener)),
      button('Watch', 'remote-watch', watch),
      http.button,
    ),
    h(
      'form',
      { class: 'row', onsubmit: (event: Event) => void send(event).catch(report) },
      type,
      payload,
      target,
      button('Send', 'remote-send', undefined, 'submit'),
    ),
    status,
    listenersBox,
    h('h3', {}, 'From a terminal'),
    h('p', { class: 'hint' }, 'Broadcast to this channel from a shell; it shows up in every listener above.'),
    terminal,
    h(
      'p',
      { class: 'hint' },
      'Or over plain HTTP, as the EventSource listeners above do: broadcast, add a listener, watch the channel.',
    ),
    http.curl,
  );
  return panel;
}
