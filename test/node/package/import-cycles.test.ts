// No module of src/ or bridge/ imports itself back, through any path, and no folder does either:
// imports between folders point one way (docs/architecture.md). Type-only imports, re-exports and
// dynamic imports count as much as the rest. The imports are read by TypeScript's own scanner.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '../../..');

/** Every module under `dirs`, with the modules of this repository it imports (by path from the root). */
function importGraph(dirs: string[]): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const dir of dirs) {
    for (const file of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!file.endsWith('.ts') || file.endsWith('.d.ts')) continue;
      const path = join(dir, file);
      const { importedFiles } = ts.preProcessFile(readFileSync(join(root, path), 'utf8'), true, true);
      const local = importedFiles.map((ref) => ref.fileName).filter((name) => name.startsWith('.'));
      // Sources import each other by their emitted name (`./x.js` for `./x.ts`).
      graph.set(
        path,
        local.map((name) => relative(root, resolve(root, dirname(path), name)).replace(/\.js$/, '.ts')),
      );
    }
  }
  return graph;
}

/** Cycles of a graph, each as the path that closes it (`a → b → a`): at least one wherever there is any. */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const path: string[] = [];
  const visit = (node: string): void => {
    const at = path.indexOf(node);
    if (at >= 0) return void found.push([...path.slice(at), node]);
    if (done.has(node)) return;
    path.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    path.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return found;
}

/**
 * The graph of folders: `bridge/socket` → `bridge/store` when some module of the first imports one
 * of the second. A module at the top of `src/` or `bridge/` (an entry point, the errors, the
 * logger) is a folder of its own, so that entry points may gather every room.
 */
function folderGraph(graph: Map<string, string[]>): Map<string, string[]> {
  const folderOf = (path: string) => (path.split('/').length > 2 ? dirname(path) : path);
  const folders = new Map<string, Set<string>>();
  for (const [from, targets] of graph) {
    const edges = folders.get(folderOf(from)) ?? new Set<string>();
    folders.set(folderOf(from), edges);
    for (const to of targets) if (folderOf(to) !== folderOf(from)) edges.add(folderOf(to));
  }
  return new Map([...folders].map(([folder, edges]) => [folder, [...edges].sort()]));
}

describe('imports', () => {
  const graph = importGraph(['src', 'bridge']);

  it('the graph is read whole: relative imports, type-only ones included', () => {
    expect(graph.size).toBeGreaterThan(40);
    expect(graph.get('bridge/socket/server.ts')).toContain('src/wire/socket-protocol.ts');
    // `import type { BridgeClient } from './bridge-client.js'`
    expect(graph.get('src/remote/remote-channel.ts')).toContain('src/remote/bridge-client.ts');
    // Every import names a module of the graph: none is lost to a wrong resolution.
    const unresolved = [...graph].flatMap(([from, targets]) =>
      targets.filter((to) => !graph.has(to)).map((to) => `${from} → ${to}`),
    );
    expect(unresolved).toEqual([]);
  });

  it('finds a cycle where there is one', () => {
    const sample = new Map([
      ['a', ['b']],
      ['b', ['c', 'd']],
      ['c', ['a']],
      ['d', []],
    ]);
    expect(cycles(sample)).toEqual([['a', 'b', 'c', 'a']]);
  });

  it('src/ and bridge/ have no import cycles', () => {
    expect(cycles(graph).map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  it('folders import one way: no folder imports itself back through another', () => {
    const folders = folderGraph(graph);
    expect(folders.get('bridge/socket')).toContain('bridge/store');
    expect(cycles(folders).map((cycle) => cycle.join(' → '))).toEqual([]);
  });

  it('src/wire is a leaf: its modules import only each other, and the errors (which import nothing)', () => {
    const wire = [...graph].filter(([from]) => from.startsWith('src/wire/'));
    expect(wire.length).toBeGreaterThan(3);
    // The wire formats' errors are the library's error classes, kept together in src/errors.ts.
    const outside = wire.flatMap(([from, targets]) =>
      targets.filter((to) => !to.startsWith('src/wire/') && to !== 'src/errors.ts').map((to) => `${from} → ${to}`),
    );
    expect(outside).toEqual([]);
    expect(graph.get('src/errors.ts')).toEqual([]);
  });

  it('sees a cycle between folders made of modules that form none', () => {
    const sample = new Map([
      ['bridge/socket/server.ts', ['bridge/store/memory.ts']],
      ['bridge/store/memory.ts', ['bridge/socket/history.ts']],
      ['bridge/socket/history.ts', []],
    ]);
    expect(cycles(sample)).toEqual([]);
    expect(cycles(folderGraph(sample))).toEqual([['bridge/socket', 'bridge/store', 'bridge/socket']]);
  });
});
