/**
 * What sharing across tabs needs from the browser, Web Locks and BroadcastChannel, and this tab's
 * identity: an id and a lock held for the tab's whole life, which the browser releases when the tab
 * closes or its process dies (docs/tabs.md, "How tabs share"). Waiting on another tab's lock is how
 * a tab learns, at once and without polling, that the other has gone.
 */

/** The browser parts tab sharing uses; undefined where either is missing. */
export interface TabPlatform {
  readonly locks: LockManager;
  readonly BroadcastChannel: typeof BroadcastChannel;
}

/** Every lock and BroadcastChannel name of the library starts with this. */
export const TAB_PREFIX = 'eric-bus:';

/** Web Locks and BroadcastChannel of this global scope, when it has both. */
export function tabPlatform(): TabPlatform | undefined {
  const scope = globalThis as { navigator?: { locks?: LockManager }; BroadcastChannel?: typeof BroadcastChannel };
  const locks = scope.navigator?.locks;
  if (!locks || typeof locks.request !== 'function' || typeof scope.BroadcastChannel !== 'function') return undefined;
  return { locks, BroadcastChannel: scope.BroadcastChannel };
}

/** A short random id (40 bits, base 36): unique among the tabs of one browser in practice. */
export function randomTabId(): string {
  const bytes = new Uint8Array(5);
  crypto.getRandomValues(bytes);
  let n = 0;
  for (const byte of bytes) n = n * 256 + byte;
  return n.toString(36).padStart(8, '0');
}

/**
 * Takes the exclusive lock `name` and keeps it until `release` is called: resolves with `release`
 * once it is held. Another tab that waits on the name learns when this one lets go or goes away.
 */
export function holdLock(locks: LockManager, name: string): Promise<() => void> {
  return new Promise((held) => {
    void locks.request(name, { mode: 'exclusive' }, () => new Promise<void>((release) => held(release)));
  });
}

/**
 * Calls `onGone` once the lock `name`, which another tab holds, is released (that tab let go of it,
 * closed or crashed); returns a canceller. Ask only once the other tab is known to hold it: a lock
 * nobody holds is granted at once.
 */
export function whenReleased(locks: LockManager, name: string, onGone: () => void): () => void {
  const controller = new AbortController();
  locks
    .request(name, { mode: 'shared', signal: controller.signal }, () => {
      if (!controller.signal.aborted) onGone();
    })
    .catch(() => {}); // aborted: nobody waits any more
  return () => controller.abort();
}

let self: { id: string; held: Promise<void> } | undefined;

/**
 * This tab's id and a promise that resolves once its life lock is held: post nothing that names the
 * tab before then, or another tab watching the lock would find it free and think the tab gone.
 */
export function thisTab(locks: LockManager): { id: string; held: Promise<void> } {
  if (!self) {
    const id = randomTabId();
    self = { id, held: holdLock(locks, lifeLockName(id)).then(() => {}) };
  }
  return self;
}

/** The name of the lock a tab holds for its whole life. */
export function lifeLockName(tabId: string): string {
  return `${TAB_PREFIX}tab:${tabId}`;
}
