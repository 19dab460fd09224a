import type { BridgeClient } from '../src/index.js';
import { h } from './dom.js';

/** The name the demo's tabs share their bridge connection under. */
export const DEMO_SHARE = 'eric-bus-demo';

/**
 * A line in the remote panel saying whether this tab holds the WebSocket its tabs share
 * (docs/tabs.md), or goes through another tab's: open the page in a second tab to see both sides.
 */
export function tabsNote(client: BridgeClient): HTMLElement {
  const note = h('p', { class: 'hint', 'data-testid': 'tab-share' });
  const share = client.sharedAcrossTabs;
  if (!share) {
    note.textContent = 'This browser cannot share the connection across tabs: each tab has its own.';
    note.dataset.holding = 'unshared';
    return note;
  }
  const show = () => {
    note.dataset.holding = String(share.holding);
    note.textContent = share.holding
      ? 'This tab holds the one WebSocket that every tab of this page shares: open the page in a second tab, ' +
        'and that tab goes through this one.'
      : 'This tab goes through the WebSocket of another tab of this page: close that tab, and one of the others ' +
        'takes over within a second, its streams resumed.';
    note.title = `shareAcrossTabs: '${share.name}', tab ${share.tabId}`;
  };
  show();
  share.onHoldingChange(show);
  return note;
}
