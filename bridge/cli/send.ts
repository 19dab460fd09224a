/** `eric-bus send`: one command to a socket server (directly or through a bridge), from the terminal. */
import type { Command, JsonValue, ProtocolClient } from '../../src/index.js';
import { isStreamingVerb, isVerb } from '../../src/wire/socket-protocol.js';
import { UsageError } from '../errors.js';
import { parseCommandArgs } from './args.js';
import { CLIENT_FLAGS_USAGE, clientFlagOptions, withConnection } from './client-flags.js';
import type { Subcommand } from './command.js';
import { printEvents } from './print-events.js';
import { STDIN_IN_FLIGHT, sendLines } from './send-lines.js';

/** A payload argument: JSON when it parses as JSON, otherwise the text itself. */
function payloadArg(text: string | undefined): JsonValue | undefined {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    return text;
  }
}

type Action = (client: ProtocolClient<unknown>, args: string[]) => Promise<string>;

const actions: Record<string, { args: string; does: string; arity: [number, number]; action: Action }> = {
  'create-channel': {
    args: '',
    does: 'create a channel; prints its id',
    arity: [0, 0],
    action: (c) => c.createChannel(),
  },
  'add-listener': {
    args: 'CHANNEL',
    does: 'add a listener; prints its id',
    arity: [1, 1],
    action: (c, [ch]) => c.register(ch!),
  },
  dispatch: {
    args: 'CHANNEL LISTENER TYPE [PAYLOAD]',
    does: 'send a message to one listener',
    arity: [3, 4],
    action: (c, [ch, l, t, p]) => c.dispatch(ch!, l!, t!, payloadArg(p)),
  },
  broadcast: {
    args: 'CHANNEL TYPE [PAYLOAD]',
    does: 'send a message to every listener',
    arity: [2, 3],
    action: (c, [ch, t, p]) => c.broadcastMessage(ch!, t!, payloadArg(p)),
  },
  'remove-listener': {
    args: 'CHANNEL LISTENER',
    does: 'remove a listener (its stream ends)',
    arity: [2, 2],
    action: (c, [ch, l]) => c.removeListener(ch!, l!),
  },
  'remove-channel': {
    args: 'CHANNEL',
    does: 'remove a channel (its streams end)',
    arity: [1, 1],
    action: (c, [ch]) => c.removeChannel(ch!),
  },
  raw: {
    args: 'JSON',
    does: "send a command as it is ('l', 'w': streams)",
    arity: [1, 1],
    // Sent as it is: the server (or the bridge) judges it, and an error reply fails like any other.
    action: (c, [json]) => c.sendPayload(parseRaw(json!) as Command),
  },
};

function parseRaw(json: string): unknown {
  try {
    return JSON.parse(json) as unknown;
  } catch {
    throw new UsageError(`raw takes a JSON command, e.g. '{"v": "c"}'`);
  }
}

export const send: Subcommand = {
  summary: 'send one command (create a channel, add a listener, dispatch, broadcast, remove), or many from stdin',
  usage: `Usage: eric-bus send (--socket PATH | --url URL) ACTION [ARGS]
       eric-bus send (--socket PATH | --url URL) -

Sends one command to a socket server (ours or eric-sse's), directly or through a bridge,
and prints the reply: a channel or listener id, or 'ack'. An error reply is printed on
stderr and exits 1.

With '-' for the action, reads commands from stdin, one JSON object per line (blank lines
skipped), sends them many at a time (on one connection to an eric-bus server, or through
the bridge's WebSocket; in front of eric-sse's server one connection each) and prints one
reply per line, in the order of the input's lines. A line that fails prints its error there,
on stdout, as Name('detail'), and the exit code is then 1. A streaming command ("v": "l" or
"w") is such an error: 'eric-bus listen' reads streams. At most ${STDIN_IN_FLIGHT} commands are in
flight at once; stdin is read on as their replies come.

Actions:
${Object.entries(actions)
  .map(([name, { args, does }]) => `  ${`${name} ${args}`.padEnd(42)}${does}`)
  .join('\n')}

PAYLOAD is JSON when it parses as JSON ('{"n": 1}', 42, true), otherwise plain text.
'raw' sends the JSON as it is (through a bridge: a JSON object, sent as one frame). A
streaming command ("v": "l" or "w") prints one JSON line per event, as 'eric-bus listen'
does, until the stream ends (its listener or channel removed, its "n" events streamed:
'{"v": "l", "c": "1", "r": "2", "n": 3}') or Ctrl-C / SIGTERM / SIGHUP.

Options:
${CLIENT_FLAGS_USAGE}
  -h, --help      show this help`,
  async run(argv) {
    const { values, positionals } = parseCommandArgs(argv, clientFlagOptions);
    const [name, ...args] = positionals;
    if (name === '-') {
      if (args.length > 0) throw new UsageError('send - takes no arguments: the commands come on stdin');
      return withConnection(values, ({ client, describe }) =>
        sendLines(client, process.stdin, process.stdout, describe),
      );
    }
    const entry = name === undefined ? undefined : actions[name];
    if (!entry) throw new UsageError(name === undefined ? 'an action is required' : `unknown action '${name}'`);
    const [min, max] = entry.arity;
    if (args.length < min || args.length > max) throw new UsageError(`usage: send ${name} ${entry.args}`.trimEnd());
    // A malformed raw command is a mistake on the command line: found before connecting.
    if (name === 'raw' && !isObject(parseRaw(args[0]!)) && values.url !== undefined)
      throw new UsageError('raw through --url takes a JSON object (a bridge frame is one)');
    const stream = name === 'raw' ? streamingCommand(parseRaw(args[0]!)) : undefined;
    return withConnection(
      values,
      async ({ client, line }) => {
        if (stream) await printEvents(client.streamPayload(stream), line);
        else console.log(await entry.action(client, args));
      },
      { sessions: false },
    );
  },
};

/** A raw command whose reply is a stream (`l`, `w`), to read as one; otherwise undefined. */
function streamingCommand(raw: unknown): Command | undefined {
  if (!isObject(raw)) return undefined;
  const verb = (raw as { v?: unknown }).v;
  return isVerb(verb) && isStreamingVerb(verb) ? (raw as Command) : undefined;
}

function isObject(value: unknown): boolean {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
