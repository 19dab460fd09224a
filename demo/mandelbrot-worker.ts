// The worker side of panel 2: one handler, registered with exposeHandler, renders a tile.
import { exposeHandler } from '../src/workers/expose-handler.js';
import { renderTile, type Tile } from './mandelbrot.js';

// A short random tag, so each rendered tile can say which worker drew it.
const me = Math.random().toString(36).slice(2, 6);

exposeHandler((msg) => renderTile(msg.payload as unknown as Tile, me));
