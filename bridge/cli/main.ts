#!/usr/bin/env node
/** The `eric-bus` command: one subcommand per module beside this one. */
import { packageVersion } from '../version.js';
import type { Subcommand } from './command.js';
import { exitWith, runCommand } from './run.js';

const commands: Record<string, () => Promise<Subcommand>> = {
  serve: async () => (await import('./serve.js')).serve,
  send: async () => (await import('./send.js')).send,
  listen: async () => (await import('./listen.js')).listen,
  bridge: async () => (await import('./bridge.js')).bridge,
  up: async () => (await import('./up.js')).up,
  token: async () => (await import('./token.js')).token,
};

async function help(): Promise<string> {
  const names = Object.keys(commands);
  const loaded = await Promise.all(names.map((name) => commands[name]!()));
  const width = Math.max(...names.map((name) => name.length));
  const list = names.map((name, i) => `  ${name.padEnd(width)}  ${loaded[i]!.summary}`);
  return [
    'Usage: eric-bus <command> [options]',
    '',
    'Commands:',
    ...list,
    '',
    'Options:',
    '  -h, --help     show this help',
    '  --version      print the version of eric-bus',
    '',
    "Run 'eric-bus <command> --help' for a command's options.",
  ].join('\n');
}

async function main(argv: string[]): Promise<number | void> {
  const [name, ...rest] = argv;
  if (name === undefined) {
    console.error(`eric-bus: a command is required; 'eric-bus --help' lists them`);
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return 0;
  }
  if (name === '--version') {
    console.log(packageVersion());
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`eric-bus: unknown command '${name}'; 'eric-bus --help' lists them`);
    return 2;
  }
  return runCommand(`eric-bus ${name}`, await load(), rest);
}

exitWith('eric-bus', main(process.argv.slice(2)));
