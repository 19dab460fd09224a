// The errors of the minified browser bundle (dist/lib/index.js, built by `pretest`), as a page
// gets them. A minifier renames classes, so every class must spell out its `name`; its `code` must
// survive the build; and an error read from the wire must come back as the bundle's own class.
import { join } from 'node:path';
import { describe, expect, onTestFinished } from 'vitest';
import { WebSocket } from 'ws';
import * as source from '../../../src/index.js';
import { take } from '../helpers/async.js';
import { it } from '../helpers/fixtures.js';

type Library = typeof source;
type ErrorClass = new (message: string) => source.EricBusError;

const bundle = (await import(join(import.meta.dirname, '../../../dist/lib/index.js'))) as Library;

/** Every error class the bundle exports, by export name. */
const errorClasses = Object.entries(bundle as Record<string, unknown>).filter(
  (entry): entry is [string, ErrorClass] =>
    typeof entry[1] === 'function' && (entry[1] === bundle.EricBusError || entry[1].prototype instanceof Error),
);

/** The class exported as `name` from `library`. */
const classOf = (library: Library, name: string) => (library as unknown as Record<string, ErrorClass>)[name]!;

/** What a promise settles with: its error, or its value. */
const outcome = (promise: Promise<unknown>) =>
  promise.then(
    (value) => value,
    (error: unknown) => error,
  );

/** The errors a socket server or the bridge sends, which the client reads back into their classes. */
const fromTheWire = [
  'InvalidChannelException',
  'InvalidListenerException',
  'InvalidMessageFormat',
  'NoMessagesException',
  'VerbNotAllowed',
  'TooManyStreams',
  'BackendUnavailable',
];

describe('the browser bundle: error classes', () => {
  it('is the built bundle, not the sources, and exports the error classes', () => {
    expect(bundle.EricBusError).not.toBe(source.EricBusError);
    expect(errorClasses.map(([name]) => name)).toEqual(
      expect.arrayContaining(['EricBusError', ...fromTheWire, 'WorkerCrashedError', 'BridgeRefused', 'ConnectionLost']),
    );
  });

  it.for(errorClasses.map(([name]) => name))('%s: name is its export name, code is the stable one', (name) => {
    const ErrorClass = classOf(bundle, name);
    const error = new ErrorClass('detail');
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(bundle.EricBusError);
    expect(error.message).toBe('detail');
    expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
    // The same code as the sources' class: the build changes nothing a program branches on.
    expect(error.code).toBe(new (classOf(source, name))('detail').code);
    expect(bundle.formatException(error)).toBe(`${name}('detail')`);
  });

  it('no two classes share a code', () => {
    const codes = errorClasses.map(([, ErrorClass]) => new ErrorClass('').code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('an error read back from its wire form keeps its name and detail; those the wire carries, their class', () => {
    const detail = `it's "quoted"\nand\ttabbed \\ escaped`;
    for (const [name, ErrorClass] of errorClasses) {
      const parsed = bundle.parseException(bundle.formatException(new ErrorClass(detail)));
      expect(parsed, name).toBeInstanceOf(bundle.EricBusError);
      expect(parsed?.name, name).toBe(name);
      expect(parsed?.message, name).toBe(detail);
      if (fromTheWire.includes(name)) {
        expect(parsed, name).toBeInstanceOf(ErrorClass);
        expect(parsed?.code, name).toBe(new ErrorClass('').code);
      }
    }
  });
});

describe("the browser bundle's BridgeClient against a real bridge and server", () => {
  /** A client made from the bundle, closed after the test. */
  function bundleClient(url: string): source.BridgeClient {
    const client = new bundle.BridgeClient(url, { WebSocket, reconnect: false });
    onTestFinished(() => client.close());
    return client;
  }

  it("rejects with the bundle's classes: errors of the server and of the bridge", async ({ startStack }) => {
    const stack = await startStack({ allow: ['c', 'r', 'd', 'l'], maxStreams: 1 });
    const client = bundleClient(stack.bridge.url);
    const c = await client.createChannel();
    const l = await client.register(c);
    const outcomes: [Promise<unknown>, string][] = [
      [outcome(client.register('404')), 'InvalidChannelException'],
      [outcome(client.dispatch(c, '404', 'x')), 'InvalidListenerException'],
      [outcome(client.sendPayload({ v: 'd', c, r: l } as unknown as source.Command)), 'InvalidMessageFormat'],
      [outcome(client.broadcastMessage(c, 'x')), 'VerbNotAllowed'],
    ];
    const held = client.stream(c, l)[Symbol.asyncIterator]();
    const open = held.next();
    outcomes.push([outcome(take(client.stream(c, l), 1)), 'TooManyStreams']);
    for (const [settled, name] of outcomes) {
      const error = await settled;
      expect(error, name).toBeInstanceOf(classOf(bundle, name));
      expect((error as Error).name).toBe(name);
    }
    await held.return?.();
    await open;
  });

  it("a bridge without a server: BackendUnavailable, the bundle's class", async ({ startStack }) => {
    const stack = await startStack();
    await stack.backend.close();
    const client = bundleClient(stack.bridge.url);
    const error = await outcome(client.createChannel());
    expect(error).toBeInstanceOf(bundle.BackendUnavailable);
    expect((error as source.BackendUnavailable).code).toBe('ERR_BACKEND_UNAVAILABLE');
  });
});
