import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';

// Every ```ts block in README.md that imports eric-bus is run as written (the vitest config
// maps the package names to the sources), so the README cannot drift from the API. A block whose
// first line names a file (`// square-worker.mjs`) is that file: written beside the examples so
// they can use it (a worker module, say), and not run on its own.
const root = join(import.meta.dirname, '../../..');
const readme = readFileSync(join(root, 'README.md'), 'utf8');
const fenced = [...readme.matchAll(/```(?:ts|js)\n([\s\S]*?)```/g)].map((m) => m[1]!);
const fileName = (code: string) => /^\/\/ ([\w.-]+\.(?:mjs|js|ts))\n/.exec(code)?.[1];
const files = fenced.filter((code) => fileName(code) !== undefined);
const blocks = fenced.filter((code) => fileName(code) === undefined && /from 'eric-bus(\/\w+)?'/.test(code));
const dir = join(root, 'test/.readme-snippets');

describe('README examples', () => {
  mkdirSync(dir, { recursive: true });
  for (const code of files) writeFileSync(join(dir, fileName(code)!), code);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has examples to run', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(2);
  });

  it.each(blocks.map((code, i) => [firstLine(code, i), code, i] as const))('runs: %s', async (_title, code, i) => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      const file = join(dir, `example-${i}.ts`);
      writeFileSync(file, code);
      await import(/* @vite-ignore */ file);
    } finally {
      log.mockRestore();
    }
  });
});

function firstLine(code: string, i: number): string {
  const heading = readme
    .slice(0, readme.indexOf(code))
    .match(/^#+ (.*)$/gm)
    ?.at(-1)
    ?.replace(/^#+ /, '');
  return `example ${i + 1} (${heading ?? 'top'})`;
}
