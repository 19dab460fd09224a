import { SSEChannel } from '../src/index.js';

const channel = new SSEChannel();
document.querySelector('#app')?.append(`channel ${channel.id} ready`);
