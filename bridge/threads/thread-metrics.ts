/**
 * Metrics across `up --thread`'s two threads (docs/operations.md, "Metrics"): the bridge counts in
 * its thread and the server in the main one, and a scrape on either side adds the other's families
 * to its own, asked for over the threads' message port.
 */
import { metrics } from '../metrics/metrics.js';

/** The part of a `Worker` or of `parentPort` the link uses. */
interface Port {
  postMessage(message: unknown): void;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  off(event: 'message', listener: (message: unknown) => void): unknown;
}

/** One side asks for the other's families; the answer carries the same number. */
type MetricsMessage = { metricsAsk: number } | { metricsAnswer: number; snapshot: string };

function isMetricsMessage(message: unknown): message is MetricsMessage {
  return typeof message === 'object' && message !== null && ('metricsAsk' in message || 'metricsAnswer' in message);
}

/**
 * Links this thread's metrics (when on) with the thread at the other end of `port`: answers its
 * asks with this thread's families, and adds its families to this thread's scrapes. Returns the
 * unlinking (asks still waiting then get nothing).
 */
export function linkMetrics(port: Port): () => void {
  const live = metrics;
  if (!live) return () => {};
  const waiting = new Map<number, (snapshot: unknown[]) => void>();
  let next = 0;
  const onMessage = (message: unknown) => {
    if (!isMetricsMessage(message)) return;
    if ('metricsAsk' in message) {
      const id = message.metricsAsk;
      // As JSON text: what crosses threads must be cloneable, and prom-client's JSON may hold functions.
      void live
        .snapshot()
        .then((snapshot) => port.postMessage({ metricsAnswer: id, snapshot: JSON.stringify(snapshot) }));
    } else {
      waiting.get(message.metricsAnswer)?.(JSON.parse(message.snapshot) as unknown[]);
      waiting.delete(message.metricsAnswer);
    }
  };
  port.on('message', onMessage);
  const removePeer = live.addPeer(
    () =>
      new Promise((resolve) => {
        const id = next++;
        waiting.set(id, resolve);
        port.postMessage({ metricsAsk: id } satisfies MetricsMessage);
      }),
  );
  return () => {
    port.off('message', onMessage);
    removePeer();
    for (const resolve of waiting.values()) resolve([]);
    waiting.clear();
  };
}
