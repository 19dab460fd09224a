/** `eric-bus send -`: many commands from stdin, one JSON object per line, one reply per line in the same order. */
import type { Command, ProtocolClient } from '../../src/index.js';
import { commandObject, isStreamingVerb, isVerb, parseCommandJson } from '../../src/wire/socket-protocol.js';
import { UsageError } from '../errors.js';
import { lines } from '../socket/lines.js';

/**
 * Commands in flight at most: past it, stdin is not read until the oldest is answered and printed,
 * so a huge input takes bounded memory (and a server with sessions runs 256 side by side anyway).
 */
export const STDIN_IN_FLIGHT = 256;

/** A line's reply as printed: the reply, or the error's `Name('detail')`. */
interface Printed {
  text: string;
  failed: boolean;
}

/**
 * Sends each non-blank line of `input` as a command through `client` (many in flight: over one
 * session on a socket server that has them, over the WebSocket through a bridge) and writes each
 * reply on a line of `output`, in the order of the input's lines, whatever order the replies come
 * in. A line that fails (an error reply; not a JSON object; a streaming verb, which `listen` reads)
 * prints its error on its own line, so lines stay aligned. Resolves with the exit code: 1 if any
 * line failed, else 0.
 */
export async function sendLines(
  client: ProtocolClient<unknown>,
  input: AsyncIterable<Buffer>,
  output: NodeJS.WritableStream,
  describe: (error: unknown) => string,
): Promise<number> {
  let failed = false;
  const print = async (reply: Promise<Printed>) => {
    const { text, failed: lineFailed } = await reply;
    failed ||= lineFailed;
    // Respect a slow stdout (a pipe to `head`, a terminal): the next reply waits until this one is out.
    if (!output.write(`${text}\n`)) await new Promise((resolve) => output.once('drain', resolve));
  };
  let printed: Promise<void> = Promise.resolve();
  /** The printing of each line in flight, oldest first. */
  const inFlight: Promise<void>[] = [];
  for await (const line of lines(input)) {
    if (line.trim() === '') continue;
    const reply = send(client, line, describe);
    printed = printed.then(() => print(reply));
    inFlight.push(printed);
    if (inFlight.length >= STDIN_IN_FLIGHT) await inFlight.shift();
  }
  await printed;
  return failed ? 1 : 0;
}

/** Sends one line's command; never rejects: a failure is its printed error. */
async function send(client: ProtocolClient<unknown>, line: string, describe: (error: unknown) => string) {
  try {
    return { text: await client.sendPayload(commandOf(line)), failed: false };
  } catch (error) {
    return { text: describe(error), failed: true };
  }
}

/** A line as a command: a JSON object, sent as it is for the server to judge; a stream is refused here. */
function commandOf(line: string): Command {
  const command = commandObject(parseCommandJson(line));
  const verb = command.v;
  if (isVerb(verb) && isStreamingVerb(verb))
    throw new UsageError(`'${verb}' streams events: read a stream with 'eric-bus listen', one per command`);
  return command as unknown as Command;
}
