// The two entry points, `eric-bus` (src/index.ts) and `eric-bus/node` (bridge/index.ts), speak one
// convention: every error class either side has is an EricBusError with its own `name` and a
// `code` no other class uses, and a name both export means one thing (the same value, or the same
// declaration for a type).
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import * as nodeErrors from '../../../bridge/errors.js';
import * as node from '../../../bridge/index.js';
import * as library from '../../../src/index.js';

type ErrorClass = new (message: string) => library.EricBusError;

const root = join(import.meta.dirname, '../../..');

/** The error classes among a module's exports, by export name. */
const errorClassesOf = (module: object) =>
  Object.entries(module).filter(
    (entry): entry is [string, ErrorClass] =>
      typeof entry[1] === 'function' && (entry[1] as { prototype: unknown }).prototype instanceof Error,
  );

/** Every error class of both sides: the entry points' and every class of bridge/errors.ts, once each. */
const classes = new Map<ErrorClass, string>();
for (const module of [library, node, nodeErrors])
  for (const [name, ErrorClass] of errorClassesOf(module)) classes.set(ErrorClass, name);

describe('the entry points: one error convention', () => {
  it('finds the error classes of both sides', () => {
    expect([...classes.values()]).toEqual(
      expect.arrayContaining([
        'EricBusError',
        'InvalidChannelException',
        'BridgeRefused',
        'SocketPathUnavailable',
        'ClientGone',
        'UsageError',
        'StartError',
        'UnreadableEventLine',
        'NoSuchRoute',
        'MethodNotAllowed',
      ]),
    );
  });

  it.for([...classes].map(([, name]) => name))('%s is an EricBusError named after its class', (name) => {
    const ErrorClass = [...classes].find(([, n]) => n === name)![0];
    const error = new ErrorClass('detail');
    expect(error).toBeInstanceOf(library.EricBusError);
    expect(ErrorClass.name).toBe(name);
    expect(error.name).toBe(name);
    expect(error.message).toBe('detail');
    expect(error.code).toMatch(/^ERR_[A-Z_]+$/);
  });

  it('gives each class a code of its own', () => {
    const codes = [...classes.keys()].map((ErrorClass) => new ErrorClass('').code);
    expect(new Set(codes).size).toBe(codes.length);
  });

  it('keeps a cause given to an error', () => {
    const cause = new Error('EADDRINUSE');
    expect(new nodeErrors.StartError('port 1 is in use', { cause }).cause).toBe(cause);
  });
});

describe('the entry points: no name with two meanings', () => {
  it('a value both export is the same object', () => {
    const libraryValues = new Map(Object.entries(library));
    for (const [name, value] of Object.entries(node))
      if (libraryValues.has(name)) expect(value, name).toBe(libraryValues.get(name));
  });

  it('a name both export, types included, is the same declaration', { timeout: 60_000 }, () => {
    const files = ['src/index.ts', 'bridge/index.ts'].map((file) => join(root, file));
    const program = ts.createProgram(files, {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts'],
      types: ['node'],
      skipLibCheck: true,
      noEmit: true,
    });
    const checker = program.getTypeChecker();
    const exportsOf = (file: string) => {
      const module = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      return new Map(
        checker.getExportsOfModule(module).map((symbol) => {
          const target = symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
          return [symbol.name, target.declarations?.[0]] as const;
        }),
      );
    };
    const [libraryExports, nodeExports] = files.map(exportsOf) as [
      ReturnType<typeof exportsOf>,
      ReturnType<typeof exportsOf>,
    ];
    expect(libraryExports.has('Logger')).toBe(true);
    const twoMeanings = [...nodeExports]
      .filter(([name, declaration]) => libraryExports.has(name) && libraryExports.get(name) !== declaration)
      .map(([name]) => name);
    expect(twoMeanings).toEqual([]);
  });
});
