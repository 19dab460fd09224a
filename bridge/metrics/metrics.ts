/**
 * The servers' metrics (docs/operations.md, "Metrics"): one registry per process, in Prometheus'
 * text format through prom-client, an optional peer loaded only when metrics are turned on. Off,
 * they cost one `undefined` check where something is counted ({@link metrics} is undefined). On,
 * what happens is counted in plain numbers (a command costs a few increments), and prom-client
 * reads them, and the gauges, only when scraped.
 */
import type { Counter, Registry } from 'prom-client';
import { loadPromClient } from '../peers.js';
import { LatencyHistogram } from './latency.js';

/** Where a connection or a stream is: a WebSocket, an SSE response, a one-shot Unix connection, a session. */
export type Face = 'websocket' | 'sse' | 'unix' | 'session';

/** A hop whose latency is measured: the bridge's round trip to its server, or the server's own handling. */
export type Hop = 'bridge' | 'server';

/** What is open now, read when the metrics are scraped (a bridge, a server). */
export interface OpenCounts {
  connections?: Partial<Record<Face, number>>;
  streams?: Partial<Record<Face, number>>;
  /** Messages waiting in the queues of the store, where it can say cheaply (on Redis, one GET). */
  waiting?: () => number | undefined | Promise<number | undefined>;
}

/**
 * The process's metrics: the calls that count, and the text a scrape gets. (Its families, prefixed
 * `ericbus_`, are listed in docs/operations.md, "Metrics".) prom-client's types stay out of it, so
 * that a project without the optional peer type-checks.
 */
export interface BusMetrics {
  /** Adds what is open somewhere (a bridge, a server), read at each scrape; returns its removal. */
  addSource(source: () => OpenCounts): () => void;
  /** A command the server handled. */
  command(verb: string, result: 'ok' | 'error'): void;
  /** Something refused: `token`, `origin`, `draining`, `verb`, `streams`, `id`. */
  refusal(reason: string): void;
  /** The latency of one command at `hop`, from `since` (a `performance.now()`). */
  latency(hop: Hop, since: number): void;
  /** `events` events of `bytes` bytes went out on `face`. */
  relayed(face: Face, events: number, bytes: number): void;
  /** A client backed up: its streams were paused. */
  paused(): void;
  /** A stream resumed after an id. */
  resumed(): void;
  /** A resumed stream began with a gap event. */
  gap(): void;
  /** A command sent to Redis, and whether it failed. */
  redis(failed: boolean): void;
  /** The text a scrape gets (Prometheus' text format) and its content type: this thread's families and its peers'. */
  scrape(): Promise<{ text: string; contentType: string }>;
  /** This thread's families alone, as prom-client's JSON (what a peer's scrape adds to its own). */
  snapshot(): Promise<unknown[]>;
  /** Adds another thread's families to each scrape (`up --thread`); returns its removal. */
  addPeer(peer: () => Promise<unknown[]>): () => void;
}

/** The families and the calls that count them, on prom-client's registry. */
class PromMetrics implements BusMetrics {
  readonly #registry: Registry;
  readonly #refusals: Counter<'reason'>;
  readonly #latency = new LatencyHistogram('ericbus_command_duration_seconds', LATENCY_HELP, ['bridge', 'server']);
  /** Commands by verb, then by result. */
  readonly #commands: Record<string, { ok: number; error: number }> = {};
  readonly #sources = new Set<() => OpenCounts>();
  readonly #peers = new Set<() => Promise<unknown[]>>();
  readonly #prom: typeof import('prom-client');
  /** Plain counts, read at each scrape. */
  readonly #counts = {
    events: new Map<Face, number>(),
    bytes: new Map<Face, number>(),
    pauses: 0,
    resumes: 0,
    gaps: 0,
    redisRoundTrips: 0,
    redisErrors: 0,
  };

  constructor(prom: typeof import('prom-client')) {
    const registry = new prom.Registry();
    this.#registry = registry;
    this.#prom = prom;
    const registers = [registry];
    const counts = this.#counts;
    const open = (key: 'connections' | 'streams') =>
      function (this: { set(labels: { face: Face }, value: number): void; reset(): void }) {
        this.reset();
        for (const face of FACES) this.set({ face }, 0);
        for (const sum of sumsOf(sources(), key)) this.set({ face: sum[0] }, sum[1]);
      };
    const sources = () => [...this.#sources].map((source) => source());
    new prom.Gauge({
      name: 'ericbus_connections_open',
      help: 'Connections open, by face (websocket, sse, unix, session)',
      labelNames: ['face'],
      registers,
      collect: open('connections'),
    });
    new prom.Gauge({
      name: 'ericbus_streams_open',
      help: 'Streams (l, w) open, by face (websocket, sse, unix, session)',
      labelNames: ['face'],
      registers,
      collect: open('streams'),
    });
    const commands = this.#commands;
    new prom.Counter({
      name: 'ericbus_commands_total',
      help: 'Commands the socket server handled, by verb and result (ok, error)',
      labelNames: ['verb', 'result'],
      registers,
      collect(this: Counter<'verb' | 'result'>) {
        this.reset();
        for (const [verb, { ok, error }] of Object.entries(commands)) {
          if (ok > 0) this.inc({ verb, result: 'ok' }, ok);
          if (error > 0) this.inc({ verb, result: 'error' }, error);
        }
      },
    });
    this.#refusals = new prom.Counter({
      name: 'ericbus_refusals_total',
      help: 'Connections, requests and frames refused, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.#latency.register(registry);
    const byFace = (name: string, help: string, map: Map<Face, number>) =>
      new prom.Counter({
        name,
        help,
        labelNames: ['face'],
        registers,
        collect(this: Counter<'face'>) {
          this.reset();
          for (const [face, value] of map) this.inc({ face }, value);
        },
      });
    byFace('ericbus_events_relayed_total', 'Stream events relayed to clients, by face', counts.events);
    byFace('ericbus_bytes_relayed_total', 'Bytes of stream events relayed to clients, by face', counts.bytes);
    const plain = (name: string, help: string, read: () => number) =>
      new prom.Counter({
        name,
        help,
        registers,
        collect(this: Counter) {
          this.reset();
          this.inc(read());
        },
      });
    plain('ericbus_backpressure_pauses_total', 'Times a backed-up client paused its streams', () => counts.pauses);
    plain('ericbus_resumes_total', 'Streams resumed after an event id (i)', () => counts.resumes);
    plain('ericbus_gaps_total', 'Resumed streams that began with a gap event', () => counts.gaps);
    plain('ericbus_redis_round_trips_total', 'Commands sent to Redis', () => counts.redisRoundTrips);
    plain('ericbus_redis_errors_total', 'Redis commands that failed', () => counts.redisErrors);
    new prom.Gauge({
      name: 'ericbus_messages_waiting',
      help: 'Messages waiting in the queues of the store (on Redis: of every server on it)',
      registers,
      async collect(this: { set(value: number): void }) {
        const counts = await Promise.all(sources().map((source) => source.waiting?.()));
        this.set(counts.reduce<number>((sum, count) => sum + (count ?? 0), 0));
      },
    });
  }

  /** Adds what is open somewhere (a bridge, a server), read at each scrape; returns its removal. */
  addSource(source: () => OpenCounts): () => void {
    this.#sources.add(source);
    return () => this.#sources.delete(source);
  }

  /** A command the server handled. */
  command(verb: string, result: 'ok' | 'error'): void {
    const counts = (this.#commands[verb] ??= { ok: 0, error: 0 });
    counts[result]++;
  }

  /** Something refused: `token`, `origin`, `verb`, `streams`, `draining`, `size`. */
  refusal(reason: string): void {
    this.#refusals.inc({ reason });
  }

  /** The latency of one command at `hop`, from `since` (a `performance.now()`). */
  latency(hop: Hop, since: number): void {
    this.#latency.observe(hop, (performance.now() - since) / 1000);
  }

  /** `events` events of `bytes` bytes went out on `face`. */
  relayed(face: Face, events: number, bytes: number): void {
    const counts = this.#counts;
    counts.events.set(face, (counts.events.get(face) ?? 0) + events);
    counts.bytes.set(face, (counts.bytes.get(face) ?? 0) + bytes);
  }

  /** A client backed up: its streams were paused. */
  paused(): void {
    this.#counts.pauses++;
  }

  /** A stream resumed after an id. */
  resumed(): void {
    this.#counts.resumes++;
  }

  /** A resumed stream began with a gap event: some of what came after its id had left the history. */
  gap(): void {
    this.#counts.gaps++;
  }

  /** A command sent to Redis, and whether it failed. */
  redis(failed: boolean): void {
    this.#counts.redisRoundTrips++;
    if (failed) this.#counts.redisErrors++;
  }

  /** The text a scrape gets, and its content type; with peers, their families summed into this thread's. */
  async scrape(): Promise<{ text: string; contentType: string }> {
    const contentType = this.#registry.contentType;
    if (this.#peers.size === 0) return { text: await this.#registry.metrics(), contentType };
    const snapshots = await Promise.all([this.snapshot(), ...[...this.#peers].map((peer) => peer())]);
    // prom-client's own merge of registries (made for a cluster's workers): counters and gauges summed.
    const merged = this.#prom.AggregatorRegistry.aggregate(snapshots);
    return { text: await merged.metrics(), contentType };
  }

  /** This thread's families alone, as prom-client's JSON. */
  snapshot(): Promise<unknown[]> {
    return this.#registry.getMetricsAsJSON();
  }

  /** Adds another thread's families to each scrape; returns its removal. */
  addPeer(peer: () => Promise<unknown[]>): () => void {
    this.#peers.add(peer);
    return () => this.#peers.delete(peer);
  }
}

const FACES: readonly Face[] = ['websocket', 'sse', 'unix', 'session'];

const LATENCY_HELP = "Latency of a command, by hop: the bridge's round trip to its server, the server's own handling";

/** Sums of `key` by face over every source. */
function sumsOf(counts: readonly OpenCounts[], key: 'connections' | 'streams'): Map<Face, number> {
  const sums = new Map<Face, number>();
  for (const count of counts)
    for (const [face, value] of Object.entries(count[key] ?? {}) as [Face, number][])
      sums.set(face, (sums.get(face) ?? 0) + value);
  return sums;
}

/** The process's metrics, once turned on; undefined (and nothing counted) until then. */
export let metrics: BusMetrics | undefined;
/** The metrics turned off last: turned on again, they go on where they were (same registry, same sources). */
let off: BusMetrics | undefined;

/**
 * Turns metrics on for this process (prom-client, an optional peer: a `StartError` saying
 * `Metrics needs prom-client: npm install prom-client` without it); again, the same registry.
 */
export async function enableMetrics(): Promise<BusMetrics> {
  metrics ??= off ?? new PromMetrics(await loadPromClient());
  return metrics;
}

/** Turns metrics off again (tests, benchmarks): nothing more is counted until they are turned on. */
export function disableMetrics(): void {
  off = metrics ?? off;
  metrics = undefined;
}
