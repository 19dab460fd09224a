import { busPanel } from './bus-panel.js';
import './style.css';

const app = document.querySelector<HTMLElement>('#app')!;
app.append(busPanel());
