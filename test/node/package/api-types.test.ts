// The public API's key types, as a user's code sees them through the package names. These are
// checked by `npm run typecheck` (tsc over test/): a wrong type fails the typecheck, not a run.
import type {
  BackendUnavailable,
  BackoffOptions,
  BridgeClient,
  BridgeClientOptions,
  BridgeRefused,
  ClientClosed,
  Command,
  ConnectionLost,
  DataProcessingChannel,
  EricBusError,
  InvalidChannelException,
  InvalidListenerException,
  InvalidMessageFormat,
  JsonValue,
  Message,
  NoMessagesException,
  ProcessingError,
  ProtocolClient,
  RemoteChannel,
  SSEChannel,
  SSEEvent,
  StreamOptions,
  TooManyStreams,
  Verb,
  VerbNotAllowed,
  WebSocketConstructor,
  WorkerCrashedError,
} from 'eric-bus';
import type { RedisConnectionOptions, RedisStoreOptions, SocketClient } from 'eric-bus/node';
import type { RedisOptions } from 'ioredis';
import { describe, expectTypeOf, it } from 'vitest';
import type { WebSocket as NodeWebSocket } from 'ws';
// Each verb's shape is the wire module's, not the package's: a user names one as `Extract<Command, { v: 'd' }>`.
import type {
  AddListenerCommand,
  BroadcastCommand,
  CreateChannelCommand,
  DispatchCommand,
  ListenCommand,
  RemoveChannelCommand,
  RemoveListenerCommand,
  WatchCommand,
} from '../../../src/wire/socket-protocol.js';

describe('the public API, by type', () => {
  it('Command: one shape per verb, narrowed by `v`', () => {
    expectTypeOf<Verb>().toEqualTypeOf<'c' | 'r' | 'd' | 'b' | 'l' | 'w' | 'rl' | 'rc'>();
    expectTypeOf<Command['v']>().toEqualTypeOf<Verb>();
    const narrowed = (command: Command) => {
      switch (command.v) {
        case 'c':
          return expectTypeOf(command).toEqualTypeOf<CreateChannelCommand>();
        case 'r':
          return expectTypeOf(command).toEqualTypeOf<AddListenerCommand>();
        case 'd':
          expectTypeOf(command).toEqualTypeOf<DispatchCommand>();
          // No `!` needed: a dispatch has its receiver and type.
          expectTypeOf(command.r).toEqualTypeOf<string>();
          expectTypeOf(command.t).toEqualTypeOf<string>();
          return expectTypeOf(command.p).toEqualTypeOf<JsonValue | undefined>();
        case 'b':
          expectTypeOf(command).toEqualTypeOf<BroadcastCommand>();
          return expectTypeOf(command).not.toHaveProperty('r');
        case 'l':
          expectTypeOf(command).toEqualTypeOf<ListenCommand>();
          return expectTypeOf(command.i).toEqualTypeOf<string | undefined>();
        case 'w':
          return expectTypeOf(command).toEqualTypeOf<WatchCommand>();
        case 'rl':
          return expectTypeOf(command).toEqualTypeOf<RemoveListenerCommand>();
        case 'rc':
          return expectTypeOf(command).toEqualTypeOf<RemoveChannelCommand>();
      }
    };
    const oneOfEach: Command[] = [
      { v: 'c' },
      { v: 'r', c: '1' },
      { v: 'd', c: '1', r: '2', t: 'hello', p: { n: 1 } },
      { v: 'b', c: '1', t: 'news' },
      { v: 'l', c: '1', r: '2', i: '2:7' },
      { v: 'w', c: '1' },
      { v: 'rl', c: '1', r: '2' },
      { v: 'rc', c: '1' },
    ];
    oneOfEach.forEach(narrowed);
    expectTypeOf<CreateChannelCommand>().not.toHaveProperty('c');
    expectTypeOf<Extract<Command, { v: 'd' }>>().toEqualTypeOf<DispatchCommand>();
    expectTypeOf<{ v: 'd'; c: string; r: string }>().not.toExtend<Command>(); // a dispatch without its type
    expectTypeOf<{ v: 'x'; c: string }>().not.toExtend<Command>();
  });

  it('SSEEvent: event, retry, data (typed by the channel), and the id a server gives', () => {
    expectTypeOf<SSEEvent>().toEqualTypeOf<{ event: string; retry: number; data: unknown; id?: string }>();
    expectTypeOf<SSEEvent<number>['data']>().toEqualTypeOf<number>();
    expectTypeOf<SSEChannel<number>['messageStream']>().returns.toEqualTypeOf<
      AsyncIterableIterator<SSEEvent<number>>
    >();
    expectTypeOf<SSEChannel<number>['watch']>().returns.toEqualTypeOf<AsyncIterableIterator<SSEEvent<number>>>();
  });

  it('JsonValue: what a payload may be on the wire, and nothing else', () => {
    expectTypeOf<{ a: [1, 'two', null, { b: true }]; c: number[] }>().toExtend<JsonValue>();
    expectTypeOf<Date>().not.toExtend<JsonValue>();
    expectTypeOf<{ f: () => void }>().not.toExtend<JsonValue>();
    expectTypeOf<undefined>().not.toExtend<JsonValue>();
    expectTypeOf<bigint>().not.toExtend<JsonValue>();
    // Payloads that cross the wire are JSON, or absent.
    expectTypeOf<ProtocolClient<string>['dispatch']>().parameter(3).toEqualTypeOf<JsonValue | undefined>();
    expectTypeOf<ProtocolClient<string>['broadcastMessage']>().parameter(2).toEqualTypeOf<JsonValue | undefined>();
    expectTypeOf<Message<{ n: number }>>().toExtend<Parameters<RemoteChannel['dispatch']>[1]>();
    expectTypeOf<Message<{ f: () => void }>>().not.toExtend<Parameters<RemoteChannel['dispatch']>[1]>();
  });

  it('ProtocolClient: the verbs as methods; SocketClient streams lines, BridgeClient events', () => {
    expectTypeOf<SocketClient>().toExtend<ProtocolClient<string>>();
    expectTypeOf<BridgeClient>().toExtend<ProtocolClient<SSEEvent>>();
    expectTypeOf<ProtocolClient<string>['createChannel']>().toEqualTypeOf<() => Promise<string>>();
    expectTypeOf<ProtocolClient<string>['register']>().toEqualTypeOf<(channelId: string) => Promise<string>>();
    expectTypeOf<ProtocolClient<string>['removeListener']>().returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf<ProtocolClient<string>['removeChannel']>().returns.toEqualTypeOf<Promise<string>>();
    expectTypeOf<SocketClient['stream']>().returns.toEqualTypeOf<AsyncIterable<string>>();
    expectTypeOf<SocketClient['watch']>().returns.toEqualTypeOf<AsyncIterable<string>>();
    expectTypeOf<BridgeClient['stream']>().returns.toEqualTypeOf<AsyncIterable<SSEEvent>>();
    expectTypeOf<BridgeClient['watch']>().parameters.toEqualTypeOf<[channelId: string, options?: StreamOptions]>();
    expectTypeOf<StreamOptions>().toEqualTypeOf<{ lastEventId?: string; limit?: number }>();
    expectTypeOf<RemoteChannel['messageStream']>().returns.toEqualTypeOf<AsyncIterable<SSEEvent>>();
  });

  it("BridgeClient options: all optional; the browser's WebSocket and the `ws` package's both fit", () => {
    // biome-ignore lint/complexity/noBannedTypes: the empty object is the point: no option is required.
    expectTypeOf<{}>().toExtend<BridgeClientOptions>();
    expectTypeOf<BridgeClientOptions['token']>().toEqualTypeOf<string | (() => Promise<string>) | undefined>();
    expectTypeOf<BridgeClientOptions['reconnect']>().toEqualTypeOf<BackoffOptions | false | undefined>();
    expectTypeOf<BridgeClientOptions['WebSocket']>().toEqualTypeOf<WebSocketConstructor | undefined>();
    expectTypeOf<typeof globalThis.WebSocket>().toExtend<WebSocketConstructor>();
    expectTypeOf<typeof NodeWebSocket>().toExtend<WebSocketConstructor>();
    expectTypeOf<BridgeClient>()
      .toHaveProperty('state')
      .toEqualTypeOf<'connecting' | 'connected' | 'reconnecting' | 'refused' | 'closed'>();
  });

  it("RedisStore's redis option: typed without ioredis, and ioredis's own RedisOptions fit it", () => {
    expectTypeOf<RedisStoreOptions['redis']>().toEqualTypeOf<RedisConnectionOptions | undefined>();
    expectTypeOf<RedisOptions>().toExtend<RedisConnectionOptions>();
    expectTypeOf<RedisConnectionOptions['password']>().toEqualTypeOf<string | undefined>();
    expectTypeOf<{ password: 1 }>().not.toExtend<RedisConnectionOptions>();
  });

  it('DataProcessingChannel: `{ event, data }` by default, or what its `adapt` makes', () => {
    expectTypeOf<DataProcessingChannel['processQueue']>().returns.toEqualTypeOf<
      AsyncIterableIterator<{ event: string; data: unknown }>
    >();
    expectTypeOf<DataProcessingChannel<string>['processQueue']>().returns.toEqualTypeOf<
      AsyncIterableIterator<string>
    >();
    expectTypeOf<ProcessingError>().toEqualTypeOf<{ type: string; message: string }>();
  });

  it('errors: each an EricBusError with its own literal `code`', () => {
    expectTypeOf<EricBusError>().toExtend<Error>();
    expectTypeOf<EricBusError['code']>().toEqualTypeOf<string>();
    expectTypeOf<InvalidChannelException['code']>().toEqualTypeOf<'ERR_INVALID_CHANNEL'>();
    expectTypeOf<InvalidListenerException['code']>().toEqualTypeOf<'ERR_INVALID_LISTENER'>();
    expectTypeOf<InvalidMessageFormat['code']>().toEqualTypeOf<'ERR_INVALID_MESSAGE_FORMAT'>();
    expectTypeOf<NoMessagesException['code']>().toEqualTypeOf<'ERR_NO_MESSAGES'>();
    expectTypeOf<WorkerCrashedError['code']>().toEqualTypeOf<'ERR_WORKER_CRASHED'>();
    expectTypeOf<VerbNotAllowed['code']>().toEqualTypeOf<'ERR_VERB_NOT_ALLOWED'>();
    expectTypeOf<TooManyStreams['code']>().toEqualTypeOf<'ERR_TOO_MANY_STREAMS'>();
    expectTypeOf<BackendUnavailable['code']>().toEqualTypeOf<'ERR_BACKEND_UNAVAILABLE'>();
    expectTypeOf<BridgeRefused['code']>().toEqualTypeOf<'ERR_BRIDGE_REFUSED'>();
    expectTypeOf<ConnectionLost['code']>().toEqualTypeOf<'ERR_CONNECTION_LOST'>();
    expectTypeOf<ClientClosed['code']>().toEqualTypeOf<'ERR_CLIENT_CLOSED'>();
    expectTypeOf<BridgeRefused['status']>().toEqualTypeOf<number | undefined>();
    // A caught error's `code` tells its class.
    expectTypeOf<
      Extract<InvalidChannelException | VerbNotAllowed, { code: 'ERR_VERB_NOT_ALLOWED' }>
    >().toEqualTypeOf<VerbNotAllowed>();
  });
});
