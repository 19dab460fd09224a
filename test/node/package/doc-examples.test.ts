// Every ```ts and ```js block of README.md and docs/*.md that imports eric-bus runs as written (the
// vitest config maps the package names to the sources), so the documents cannot drift from the
// API. A block that prints is followed by "It prints:" and a ```text block, which must be exactly
// what its `console.log` calls wrote (formatted as Node's console formats them). A block whose
// first line names a file (`// square-worker.mjs`) is that file: written beside the examples so they
// can use it (a worker module, say), and not run on its own. ```typescript blocks are for a page
// and a bundler (Vite's worker URLs), and are not run.
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatWithOptions } from 'node:util';
import { afterAll, describe, expect, it, vi } from 'vitest';

const root = join(import.meta.dirname, '../../..');
const dir = join(root, 'test/.doc-examples');
const DOCUMENTS = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Example {
  document: string;
  title: string;
  code: string;
  /** What the text says the example prints, when it says. */
  prints: string | undefined;
}

const fileName = (code: string) => /^\/\/ ([\w.-]+\.(?:mjs|js|ts))\n/.exec(code)?.[1];
const PRINTS = /^```(?:ts|js)\n([\s\S]*?)```\n+(?:It prints:\n+```text\n([\s\S]*?)```)?/gm;

function examples(document: string): { files: string[]; runnable: Example[] } {
  const text = readFileSync(join(root, document), 'utf8');
  const files: string[] = [];
  const runnable: Example[] = [];
  for (const match of text.matchAll(PRINTS)) {
    const code = match[1]!;
    if (fileName(code) !== undefined) files.push(code);
    else if (/from 'eric-bus(\/\w+)?'/.test(code)) {
      const heading = text
        .slice(0, match.index)
        .match(/^#+ (.*)$/gm)
        ?.at(-1)
        ?.replace(/^#+ /, '');
      runnable.push({ document, title: heading ?? 'top', code, prints: match[2] });
    }
  }
  return { files, runnable };
}

const all = DOCUMENTS.map(examples);
const runnable = all.flatMap((found) => found.runnable);

describe('the examples in README.md and docs/', () => {
  mkdirSync(dir, { recursive: true });
  for (const code of all.flatMap((found) => found.files)) writeFileSync(join(dir, fileName(code)!), code);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('has examples to run in README and in the guides', () => {
    expect(runnable.filter((example) => example.document === 'README.md').length).toBeGreaterThanOrEqual(3);
    expect(new Set(runnable.map((example) => example.document)).size).toBeGreaterThanOrEqual(5);
  });

  it('says what each example that prints prints', () => {
    const silent = runnable.filter((example) => /console\.log\(/.test(example.code) && example.prints === undefined);
    expect(silent.map((example) => `${example.document} (${example.title})`)).toEqual([]);
  });

  it.each(runnable.map((example, i) => [`${example.document}: ${example.title}`, example, i] as const))(
    'runs and prints what the text says: %s',
    async (_title, example, i) => {
      const printed: string[] = [];
      const log = vi
        .spyOn(console, 'log')
        .mockImplementation((...args: unknown[]) => void printed.push(formatWithOptions({ colors: false }, ...args)));
      try {
        // Fresh modules for each example, so its ids start at 1 as in a program of its own.
        vi.resetModules();
        const file = join(dir, `example-${i}.ts`);
        writeFileSync(file, example.code);
        await import(/* @vite-ignore */ file);
      } finally {
        log.mockRestore();
      }
      if (example.prints !== undefined) expect(printed.map((line) => `${line}\n`).join('')).toBe(example.prints);
    },
  );
});
