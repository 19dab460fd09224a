import { Message, SimpleDistributedApplicationListener, SSEChannel, type SSEEvent } from '../src/index.js';
import { h, messageFields, streamCard } from './dom.js';

/** Panel 1: an in-page channel, its listeners' live streams, and the alice/bob scenario. */
export function busPanel(): HTMLElement {
  const channel = new SSEChannel();
  const listenersBox = h('div', { class: 'listeners', 'data-testid': 'bus-listeners' });
  const fields = messageFields('bus', { type: 'hello', payload: '{"text": "hi"}' });
  const { target } = fields;
  const status = h('p', { class: 'hint', 'data-testid': 'bus-status' }, 'Add a listener, then send it something.');

  function addListener(): void {
    const listener = channel.addListener();
    listener.startSync();
    const remove = h('button', { class: 'small', onclick: () => channel.removeListener(listener.id) }, 'remove');
    const onEnd = () => fields.removeTarget(listener.id);
    listenersBox.append(
      streamCard(`listener ${listener.id}`, `bus-log-${listener.id}`, channel.messageStream(listener), {
        actions: [remove],
        onEnd,
      }),
    );
    fields.addTarget(listener.id);
  }

  function send(event: Event): void {
    event.preventDefault();
    const msg = fields.message();
    if (channel.size === 0) return void (status.textContent = 'No listener yet: add one first.');
    if (target.value === '*') channel.broadcast(msg);
    else channel.dispatch(target.value, msg);
    status.textContent =
      target.value === '*'
        ? `Broadcast '${msg.type}' to ${channel.size} listeners.`
        : `Dispatched '${msg.type}' to listener ${target.value}.`;
  }

  return h(
    'section',
    { class: 'panel', id: 'bus', 'data-testid': 'panel-bus' },
    h('h2', {}, '1 · In-page bus'),
    h('p', { class: 'lead' }, 'An SSEChannel in this page: each listener streams its own queue with for await.'),
    h(
      'p',
      { class: 'hint' },
      'In-page events carry no id, so each log numbers its events as they arrive (#1, #2…); ' +
        'the backend streams of panel 3 show the ids their server gave.',
    ),
    h(
      'form',
      { class: 'row', onsubmit: send },
      h('button', { type: 'button', onclick: addListener, 'data-testid': 'bus-add' }, 'Add listener'),
      fields.type,
      fields.payload,
      target,
      h('button', { type: 'submit', class: 'primary', 'data-testid': 'bus-send' }, 'Send'),
    ),
    status,
    listenersBox,
    aliceAndBob(),
  );
}

/** The seed's scenario: bob says hello to alice, alice acknowledges, both stop. */
function aliceAndBob(): HTMLElement {
  const output = h('div', { class: 'conversation', 'data-testid': 'alice-bob' });
  async function run(): Promise<void> {
    output.replaceChildren();
    const channel = new SSEChannel();
    const alice = new SimpleDistributedApplicationListener(channel);
    const bob = new SimpleDistributedApplicationListener(channel);
    alice.setAction('hello', () => [new Message('hello_ack', 'nice to meet you'), new Message('stop')]);
    bob.setAction('hello_ack', () => [new Message('stop')]);
    await alice.start();
    await bob.start();
    const show = (name: string, stream: AsyncIterable<SSEEvent>) =>
      new Promise<void>((onEnd) =>
        output.append(streamCard(name, `${name}-log`, stream, { onEnd, endNote: 'stopped' })),
      );
    bob.dispatchTo(alice, new Message('hello', 'hi alice, bob here'));
    await Promise.all([show('alice', channel.messageStream(alice)), show('bob', channel.messageStream(bob))]);
  }
  return h(
    'div',
    { class: 'scenario' },
    h('h3', {}, 'Distributed listeners'),
    h('p', { class: 'hint' }, 'Two SimpleDistributedApplicationListeners answer each other with signed messages.'),
    h('button', { onclick: () => void run(), 'data-testid': 'alice-bob-run' }, 'Run alice & bob'),
    output,
  );
}
