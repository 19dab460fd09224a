export type { JsonValue } from '../wire/json.js';

/** Reserved type that marks the end of a stream (a closed channel or a removed listener). */
export const MESSAGE_TYPE_CLOSED = '_eric_channel_closed';
/** Same value as {@link MESSAGE_TYPE_CLOSED}, under the name eric-sse also uses. */
export const MESSAGE_TYPE_END_OF_STREAM = MESSAGE_TYPE_CLOSED;
/** Type of the events that report a processing error. */
export const MESSAGE_TYPE_INTERNAL_ERROR = '_eric_error';
/**
 * Type of the event that starts a resumed stream which could not replay everything
 * (docs/protocol.md, "Event ids, histories and resume").
 */
export const MESSAGE_TYPE_GAP = '_eric_gap';

/** A typed container of information. */
export class Message<P = unknown> {
  constructor(
    readonly type: string,
    readonly payload?: P,
  ) {}
}

/** The payload a {@link SignedMessage} carries, shaped as eric-sse puts it on the wire. */
export interface SignedPayload<P = unknown> {
  sender_id: string;
  payload: P | undefined;
}

/** A message that names the listener that sent it. */
export class SignedMessage<P = unknown> extends Message<SignedPayload<P>> {
  constructor(
    readonly senderId: string,
    msgType: string,
    msgPayload?: P,
  ) {
    super(msgType, { sender_id: senderId, payload: msgPayload });
  }
}
