import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// src/ is the browser bundle: it may import only itself and browser-safe packages.
describe('src/ is browser-safe', () => {
  const dir = join(import.meta.dirname, '../../../src');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));

  it.each(files)('%s imports nothing from Node', (file) => {
    const source = readFileSync(join(dir, file), 'utf8');
    const specifiers = [...source.matchAll(/(?:from|import)\s*\(?\s*['"]([^'"]+)['"]/g)].map((m) => m[1]!);
    const offending = specifiers.filter((s) => !s.startsWith('.') && s !== 'comlink');
    expect(offending).toEqual([]);
  });
});
