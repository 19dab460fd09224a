import { InvalidMessageFormat } from '../errors.js';
import { log } from '../log.js';
import type { AbstractChannel } from './channel.js';
import { MessageQueueListener } from './listener.js';
import { type Message, SignedMessage } from './message.js';

/** Answers a message with messages for its sender; may be async. */
export type Action = (msg: Message) => Message[] | Promise<Message[]>;

const RESERVED = new Set(['stop', 'remove']);

/**
 * A listener that runs an action for each message type and sends the action's replies,
 * signed, back to the message's sender. `stop` and `remove` are reserved.
 */
export class SimpleDistributedApplicationListener extends MessageQueueListener {
  readonly #channel: AbstractChannel;
  readonly #actions = new Map<string, Action>();

  constructor(channel: AbstractChannel, id?: string) {
    super(id);
    this.#channel = channel;
    channel.registerListener(this);
  }

  /** Runs `action` for messages of type `name`; `stop` and `remove` cannot be overridden. */
  setAction(name: string, action: Action): void {
    if (RESERVED.has(name)) throw new InvalidMessageFormat(`'${name}' is a reserved action and cannot be overridden`);
    this.#actions.set(name, action);
  }

  /** Sends `msg` to `receiver` (a listener, as in the seed, or a listener id), signed by this listener. */
  dispatchTo(receiver: MessageQueueListener | string, msg: Message): void {
    const id = typeof receiver === 'string' ? receiver : receiver.id;
    this.#channel.dispatch(id, new SignedMessage(this.id, msg.type, msg.payload));
  }

  override onMessage(msg: Message): void | Promise<void> {
    if (msg.type === 'stop') return this.stopSync();
    if (msg.type === 'remove') {
      this.stopSync();
      return this.#channel.removeListener(this.id);
    }
    const action = this.#actions.get(msg.type);
    if (!action) {
      log().warn(`Listener ${this.id}: no action for message type '${msg.type}', ignored`);
      return;
    }
    const replies = action(msg);
    if (Array.isArray(replies)) return this.#reply(msg, replies);
    return replies.then(
      (r) => this.#reply(msg, r),
      (error: unknown) => log().error(`Listener ${this.id}: action '${msg.type}' failed:`, error),
    );
  }

  #reply(msg: Message, replies: Message[]): void {
    if (replies.length === 0) return;
    const sender = senderOf(msg);
    if (sender === undefined) {
      log().warn(`Listener ${this.id}: '${msg.type}' has no sender to answer, ${replies.length} replies dropped`);
      return;
    }
    for (const reply of replies) this.dispatchTo(sender, reply);
  }
}

function senderOf(msg: Message): string | undefined {
  if (msg instanceof SignedMessage) return msg.senderId;
  const payload = msg.payload as { sender_id?: unknown } | null | undefined;
  return typeof payload?.sender_id === 'string' ? payload.sender_id : undefined;
}
