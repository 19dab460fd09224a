import { BridgeClient } from '../src/index.js';
import { busPanel } from './bus-panel.js';
import { bridgeConfig, pageToken, remotePanel, showConnectionState } from './remote-panel.js';
import { workersPanel } from './workers-panel.js';
import './style.css';

const app = document.querySelector<HTMLElement>('#app')!;
const badge = document.querySelector<HTMLElement>('#connection')!;
const config = bridgeConfig();
const client = config ? new BridgeClient(config.url, { token: pageToken(config) }) : undefined;
if (client) showConnectionState(client, badge);
else badge.textContent = 'bridge: not configured';
app.append(busPanel(), workersPanel(), remotePanel(client, config));
