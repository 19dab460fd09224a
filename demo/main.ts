import { BridgeClient } from '../src/index.js';
import { busPanel } from './bus-panel.js';
import { bridgeConfig, pageToken, remotePanel, showConnectionState } from './remote-panel.js';
import { DEMO_SHARE, tabsNote } from './tabs-note.js';
import { workersPanel } from './workers-panel.js';
import './style.css';

const app = document.querySelector<HTMLElement>('#app')!;
const badge = document.querySelector<HTMLElement>('#connection')!;
const config = bridgeConfig();
// Every tab of the demo shares one WebSocket to the bridge (docs/tabs.md).
const client = config
  ? new BridgeClient(config.url, { token: pageToken(config), shareAcrossTabs: DEMO_SHARE })
  : undefined;
if (client) showConnectionState(client, badge);
else badge.textContent = 'bridge: not configured';
const remote = remotePanel(client, config);
if (client) remote.querySelector('.lead')?.after(tabsNote(client));
app.append(busPanel(), workersPanel(), remote);
