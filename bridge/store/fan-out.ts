/**
 * What makes fan-out cheap for the socket server's streams (`stream-to-socket.ts`): a broadcast's
 * line is made once for all its listeners, and while broadcasts keep coming each socket gets a few
 * writes of many lines rather than a write per line.
 */
import type { AbstractChannel, Message, SSEEvent } from '../../src/index.js';
import { eventHead, eventLine, formatEvent } from '../../src/wire/socket-protocol.js';

/**
 * Each channel's broadcasts, and once made, their lines without the id ({@link eventHead}; null
 * until the first stream needs it): a broadcast reaches every listener as one shared message, so
 * its line is made once, not once per stream. Only broadcasts are kept: remembering every message
 * would cost more than it saves. Weak both ways: an entry lives as long as its message does.
 */
const broadcasts = new WeakMap<AbstractChannel<SSEEvent>, WeakMap<Message, string | null>>();

/** Notes that `msg` is broadcast on `channel`, so that its listeners' streams share its line. */
export function shareLine(channel: AbstractChannel<SSEEvent>, msg: Message): void {
  // A channel of one listener never writes a message twice.
  if (channel.size < 2) return;
  let shared = broadcasts.get(channel);
  if (!shared) broadcasts.set(channel, (shared = new WeakMap()));
  shared.set(msg, null);
}

/** The line of `msg` on `channel` with `id` (what `formatEvent` writes), made once for a shared broadcast. */
export function lineOf(channel: AbstractChannel<SSEEvent>, msg: Message, id: string | undefined): string {
  const shared = broadcasts.get(channel);
  let head = shared?.get(msg);
  if (head === undefined) return formatEvent(channel.adapt(msg), id);
  if (head === null) shared!.set(msg, (head = eventHead(channel.adapt(msg))));
  return eventLine(head, id);
}

/**
 * In a fan-out (a message that wakes several streams at once, as a broadcast does), a line that
 * comes less than this many ms after its stream's last write waits up to this long for the
 * stream's next write, which takes whatever arrived meanwhile: under a run of broadcasts each
 * socket gets a write every few ms with many lines, not one write (a system call, a wake-up of the
 * reader) per line. A line after a pause, or for a stream woken alone (a back-and-forth exchange),
 * is written at once.
 */
const COALESCE_MS = 4;

/** How many streams this turn of the event loop has woken, and the last turn that woke any. */
let wokenThisTurn = 0;
let wokenLastTurn = 0;

/** Counts a stream woken by a new message; true while messages wake several streams at once. */
function fanningOut(): boolean {
  if (wokenThisTurn++ === 0) {
    setImmediate(() => {
      wokenLastTurn = wokenThisTurn;
      wokenThisTurn = 0;
    });
  }
  return wokenThisTurn > 1 || wokenLastTurn > 1;
}

/** Streams holding lines back for {@link COALESCE_MS}; one timer writes them all. */
const heldBack = new Set<() => void>();
let flushScheduled = false;

/**
 * Runs `pump` (which writes what waits for a stream) for a stream woken by a new message: once this
 * turn of the event loop is over (so the command that brought the message is answered first, and
 * the write takes whatever else this turn brings); or, during a fan-out when the stream last wrote
 * (`lastWrite`, from `performance.now()`) less than {@link COALESCE_MS} ago, within that long.
 */
export function writeWhenWoken(pump: () => void, lastWrite: number): void {
  if (fanningOut() && performance.now() - lastWrite < COALESCE_MS) writeSoon(pump);
  else setImmediate(pump);
}

/** Forgets a `pump` held back by {@link writeWhenWoken} (its stream has ended). */
export function unscheduleWrite(pump: () => void): void {
  heldBack.delete(pump);
}

function writeSoon(pump: () => void): void {
  heldBack.add(pump);
  if (flushScheduled) return;
  flushScheduled = true;
  setTimeout(() => {
    flushScheduled = false;
    const pumps = [...heldBack];
    heldBack.clear();
    for (const held of pumps) held();
  }, COALESCE_MS);
}
