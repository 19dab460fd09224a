/** One tile of the Mandelbrot set to render: the unit of work the worker panel hands out. */
export interface Tile {
  x: number;
  y: number;
  size: number;
  width: number;
  height: number;
  iterations: number;
  /** A deliberately broken tile: its handler throws, to show errors are reported. */
  poison?: boolean;
}

/** A rendered tile: RGBA pixels and which worker drew it. */
export interface RenderedTile {
  x: number;
  y: number;
  size: number;
  pixels: ArrayBuffer;
  worker: string;
}

/** Renders a tile into RGBA pixels: pure computation, the CPU-heavy part. */
export function renderTile(tile: Tile, worker: string): RenderedTile {
  if (tile.poison) throw new Error('poisoned tile, failing on purpose');
  const { x, y, size, width, height, iterations } = tile;
  const pixels = new Uint8ClampedArray(size * size * 4);
  const scale = 3 / Math.min(width, height * 1.5);
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      const cr = (x + px - width * 0.62) * scale;
      const ci = (y + py - height / 2) * scale;
      let zr = 0;
      let zi = 0;
      let n = 0;
      while (n < iterations && zr * zr + zi * zi < 4) {
        const t = zr * zr - zi * zi + cr;
        zi = 2 * zr * zi + ci;
        zr = t;
        n++;
      }
      const o = (py * size + px) * 4;
      const v = n === iterations ? 0 : Math.sqrt(n / iterations);
      pixels[o] = 255 * Math.min(1, v * 2.2);
      pixels[o + 1] = 255 * v * v;
      pixels[o + 2] = 90 + 165 * v;
      pixels[o + 3] = 255;
    }
  }
  return { x, y, size, pixels: pixels.buffer, worker };
}

/** Cuts a width × height image into square tiles. */
export function tiles(width: number, height: number, size: number, iterations: number): Tile[] {
  const out: Tile[] = [];
  for (let y = 0; y < height; y += size)
    for (let x = 0; x < width; x += size) out.push({ x, y, size, width, height, iterations });
  return out;
}
