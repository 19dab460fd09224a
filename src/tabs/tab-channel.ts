import { MessageQueueListener } from '../bus/listener.js';
import { Message } from '../bus/message.js';
import { SSEChannel, type SSEChannelOptions, type SSEEvent } from '../bus/sse.js';
import { formatException, InvalidListenerException, InvalidMessageFormat, parseException } from '../errors.js';
import { holdLock, randomTabId, TAB_PREFIX, type TabPlatform, tabPlatform, whenReleased } from './platform.js';

/**
 * What the members of a tab channel say to each other, on one BroadcastChannel
 * (docs/tabs.md, "How tabs share"). `from` is the sender's member id; `to`, where there is one, the
 * only member meant.
 */
type Wire =
  | { t: 'hello'; from: string; listeners: string[] }
  | { t: 'state'; from: string; to: string; listeners: string[] }
  | { t: 'add' | 'rm'; from: string; id: string }
  | { t: 'bye'; from: string }
  | { t: 'd'; from: string; to: string; req: number; id: string; type: string; payload: unknown }
  | { t: 'b'; from: string; req: number; type: string; payload: unknown }
  | { t: 'rl'; from: string; to: string; id: string }
  | { t: 'ok'; from: string; to: string; req: number }
  | { t: 'err'; from: string; to: string; req: number; error: string };

/** A dispatch or broadcast waiting for the members it went to. */
interface Waiting {
  readonly resolve: () => void;
  readonly reject: (error: Error) => void;
  /** The members still to answer. */
  readonly members: Set<string>;
  /** The listener a dispatch went to (none for a broadcast). */
  readonly listenerId?: string;
}

/** Options of a {@link TabChannel}: those of an `SSEChannel`. */
export type TabChannelOptions<D = unknown> = SSEChannelOptions<D>;

/**
 * An in-page channel shared by the tabs of an origin under one name: a listener lives in the tab
 * that added it (its queue, its streams), and `dispatch` and `broadcast` from any tab reach it. Ids
 * of listeners it makes are unique across the tabs; it adapts messages as `SSEChannel` does.
 *
 * ```ts
 * const channel = new TabChannel('chat'); // the same in every tab
 * const listener = channel.addListener();
 * await channel.dispatch(idFromAnotherTab, new Message('hello', { from: 'this tab' }));
 * ```
 *
 * `dispatch` resolves once the message is queued in the tab that holds the listener and rejects
 * with `InvalidListenerException` when no tab holds it; `broadcast` resolves once every tab with
 * listeners has queued it. A tab that closes (or crashes) takes its listeners with it: to the
 * others they are gone as after `removeListener`. Where the browser lacks Web Locks or
 * BroadcastChannel it is a channel of this tab alone.
 */
export class TabChannel<D = unknown> extends SSEChannel<D> {
  /** The name the tabs share. */
  readonly name: string;
  readonly #member = randomTabId();
  readonly #channel: BroadcastChannel | undefined;
  readonly #local = new Set<string>();
  /** Listeners of the other members, by id: the member that holds each. */
  readonly #remote = new Map<string, string>();
  /** Members heard from, with how to stop watching for their going. */
  readonly #members = new Map<string, () => void>();
  /** Members known to be there (their lock is held) but not heard from yet. */
  readonly #unheard = new Set<string>();
  readonly #waiting = new Map<number, Waiting>();
  readonly #ready: Promise<void>;
  #markReady: () => void = () => {};
  #joined = false;
  #closed = false;
  #release: (() => void) | undefined;
  #nextListener = 1;
  #nextRequest = 1;

  constructor(name: string, options: TabChannelOptions<D> = {}) {
    super({ id: name, ...options });
    this.name = name;
    const platform = tabPlatform();
    this.#ready = new Promise((resolve) => (this.#markReady = resolve));
    if (!platform) {
      this.#markReady();
      return;
    }
    this.#channel = new platform.BroadcastChannel(`${TAB_PREFIX}channel:${name}`);
    this.#channel.onmessage = (event: MessageEvent<Wire>) => this.#receive(platform, event.data);
    void this.#join(platform);
  }

  /** Resolves once this tab knows the listeners of every other tab that had joined when it did. */
  whenReady(): Promise<void> {
    return this.#ready;
  }

  /** Every listener id of the channel, in this tab and in the others, as this tab knows them. */
  listenerIds(): string[] {
    return [...this.#local, ...this.#remote.keys()];
  }

  /** Creates, registers and returns a listener (not yet running) whose id no other tab's has. */
  override addListener(): MessageQueueListener {
    const listener = new MessageQueueListener(`${this.#member}-${this.#nextListener++}`);
    this.registerListener(listener);
    return listener;
  }

  /** Adds a listener to this tab; an id of your own must differ from those of every tab. */
  override registerListener(listener: MessageQueueListener): void {
    super.registerListener(listener);
    this.#local.add(listener.id);
    this.#say({ t: 'add', from: this.#member, id: listener.id });
  }

  /** Removes a listener of this tab (its streams end as in any channel) or asks the tab that holds it. */
  override removeListener(listenerId: string): void {
    const holder = this.#remote.get(listenerId);
    if (holder !== undefined) {
      this.#remote.delete(listenerId);
      this.#post({ t: 'rl', from: this.#member, to: holder, id: listenerId });
      return;
    }
    super.removeListener(listenerId);
    this.#local.delete(listenerId);
    this.#say({ t: 'rm', from: this.#member, id: listenerId });
  }

  /**
   * Appends a message to a listener's queue, in whichever tab holds it: resolves once it is queued
   * there; rejects with `InvalidListenerException` when no tab holds the listener.
   */
  override dispatch(listenerId: string, msg: Message): Promise<void> {
    if (this.#local.has(listenerId)) {
      super.dispatch(listenerId, msg);
      return Promise.resolve();
    }
    const holder = this.#remote.get(listenerId);
    if (holder !== undefined) return this.#send(msg, [holder], listenerId);
    if (this.#closed || !this.#channel) return noListener(listenerId);
    // Not known yet: once every tab has told its listeners, either some tab holds it or none does.
    return this.#ready.then(() => (this.#known(listenerId) ? this.dispatch(listenerId, msg) : noListener(listenerId)));
  }

  /** Appends the message to every listener's queue in every tab; resolves once each tab with listeners has. */
  override broadcast(msg: Message): Promise<void> {
    super.broadcast(msg);
    const members = new Set(this.#remote.values());
    return members.size === 0 ? Promise.resolve() : this.#send(msg, [...members]);
  }

  /** Adds a started listener and streams it; the listener is removed when the stream ends. */
  override watch(): AsyncIterableIterator<SSEEvent<D>> {
    const listener = this.addListener();
    listener.startSync();
    const stream = this.messageStream(listener);
    const done = () => {
      if (this.hasListener(listener)) this.removeListener(listener.id);
    };
    return {
      next: async () => {
        const step = await stream.next();
        if (step.done) done();
        return step;
      },
      return: async () => {
        const step = await (stream.return?.() ?? { value: undefined, done: true as const });
        done();
        return step;
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  /**
   * Removes this tab's listeners (their streams end) and leaves: the other tabs see them removed;
   * what this tab still waits for rejects.
   */
  override close(): void {
    super.close();
    if (this.#closed) return;
    this.#closed = true;
    this.#post({ t: 'bye', from: this.#member });
    this.#release?.();
    this.#channel?.close();
    for (const member of [...this.#members.keys()]) this.#gone(member);
    this.#markReady();
  }

  #known(listenerId: string): boolean {
    return this.#local.has(listenerId) || this.#remote.has(listenerId);
  }

  /** Joins: holds this member's lock (the others watch it), says hello, then waits to hear every member. */
  async #join(platform: TabPlatform): Promise<void> {
    const release = await holdLock(platform.locks, this.#memberLock(this.#member));
    if (this.#closed) return release();
    this.#release = release;
    this.#joined = true;
    this.#post({ t: 'hello', from: this.#member, listeners: [...this.#local] });
    const prefix = this.#memberLock('');
    const { held = [] } = await platform.locks.query();
    for (const { name } of held) {
      const member = name?.startsWith(prefix) ? name.slice(prefix.length) : undefined;
      if (member === undefined || member === this.#member || this.#members.has(member)) continue;
      this.#unheard.add(member);
      this.#watch(platform, member);
    }
    this.#checkReady();
  }

  #memberLock(member: string): string {
    return `${TAB_PREFIX}channel:${this.name}:member:${member}`;
  }

  #checkReady(): void {
    if (this.#joined && this.#unheard.size === 0) this.#markReady();
  }

  /** Posts what the others must know of this tab's listeners: before joining, the hello says it all. */
  #say(message: Wire): void {
    if (this.#joined) this.#post(message);
  }

  #post(message: Wire): void {
    if (!this.#closed) this.#channel?.postMessage(message);
  }

  /** A dispatch (to one listener) or a broadcast, to other members; settled by their answers. */
  #send(msg: Message, members: string[], listenerId?: string): Promise<void> {
    const req = this.#nextRequest++;
    const from = this.#member;
    const message: Wire =
      listenerId === undefined
        ? { t: 'b', from, req, type: msg.type, payload: msg.payload }
        : { t: 'd', from, to: members[0]!, req, id: listenerId, type: msg.type, payload: msg.payload };
    return new Promise((resolve, reject) => {
      try {
        this.#channel!.postMessage(message);
      } catch (error) {
        return reject(new InvalidMessageFormat(`The message cannot go to another tab: ${(error as Error).message}`));
      }
      this.#waiting.set(req, { resolve, reject, members: new Set(members), ...(listenerId ? { listenerId } : {}) });
    });
  }

  #receive(platform: TabPlatform, message: Wire): void {
    if (this.#closed || message.from === this.#member) return;
    if ('to' in message && message.to !== this.#member && message.t !== 'state') return;
    switch (message.t) {
      case 'hello':
      case 'state':
        return this.#heard(platform, message.from, message.listeners, message.t === 'hello');
      case 'add':
        this.#remote.set(message.id, message.from);
        return;
      case 'rm':
        if (this.#remote.get(message.id) === message.from) this.#remote.delete(message.id);
        return;
      case 'bye':
        return this.#gone(message.from);
      case 'd':
        return this.#deliver(message.from, message.req, () =>
          super.dispatch(message.id, new Message(message.type, message.payload)),
        );
      case 'b':
        return this.#deliver(message.from, message.req, () =>
          super.broadcast(new Message(message.type, message.payload)),
        );
      case 'rl':
        if (this.#local.has(message.id)) this.removeListener(message.id);
        return;
      case 'ok':
      case 'err':
        return this.#answered(message);
    }
  }

  /** A member told its listeners (its hello, or its answer to ours). */
  #heard(platform: TabPlatform, member: string, listeners: string[], greeting: boolean): void {
    for (const id of listeners) this.#remote.set(id, member);
    this.#watch(platform, member);
    if (greeting && this.#joined)
      this.#post({ t: 'state', from: this.#member, to: member, listeners: [...this.#local] });
    this.#unheard.delete(member);
    this.#checkReady();
  }

  /** Watches a member that holds its lock: when it lets go (leaves, closes, crashes), it is gone. */
  #watch(platform: TabPlatform, member: string): void {
    if (this.#members.has(member)) return;
    this.#members.set(
      member,
      whenReleased(platform.locks, this.#memberLock(member), () => this.#gone(member)),
    );
  }

  /** A member left: its listeners are gone, and so is whatever waited for it. */
  #gone(member: string): void {
    this.#members.get(member)?.();
    this.#members.delete(member);
    this.#unheard.delete(member);
    for (const [id, holder] of [...this.#remote]) if (holder === member) this.#remote.delete(id);
    for (const [req, waiting] of [...this.#waiting]) {
      if (!waiting.members.delete(member)) continue;
      if (waiting.listenerId !== undefined) {
        this.#waiting.delete(req);
        waiting.reject(new InvalidListenerException(`Listener ${waiting.listenerId} went away with its tab`));
      } else if (waiting.members.size === 0) {
        this.#waiting.delete(req);
        waiting.resolve();
      }
    }
    this.#checkReady();
  }

  /** Runs a dispatch or broadcast another member asked for, and answers it. */
  #deliver(to: string, req: number, run: () => void): void {
    const from = this.#member;
    try {
      run();
      this.#post({ t: 'ok', from, to, req });
    } catch (error) {
      this.#post({ t: 'err', from, to, req, error: formatException(error as Error) });
    }
  }

  #answered(message: Extract<Wire, { t: 'ok' | 'err' }>): void {
    const waiting = this.#waiting.get(message.req);
    if (!waiting?.members.delete(message.from)) return;
    if (message.t === 'err') {
      this.#waiting.delete(message.req);
      waiting.reject(parseException(message.error) ?? new InvalidListenerException(message.error));
    } else if (waiting.members.size === 0) {
      this.#waiting.delete(message.req);
      waiting.resolve();
    }
  }
}

function noListener(listenerId: string): Promise<never> {
  return Promise.reject(new InvalidListenerException(`Invalid listener ${listenerId}`));
}
