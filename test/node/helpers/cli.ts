/**
 * Runs the built `eric-bus` command (dist/bridge/cli/main.js, built by `pretest`) as a child process,
 * or `npm start`'s script (dist/scripts/start.js).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const CLI = join(import.meta.dirname, '../../../dist/bridge/cli/main.js');
/** What `npm start` runs once it has built the Node code. */
export const START = join(import.meta.dirname, '../../../dist/scripts/start.js');

/**
 * Which program to run (the CLI by default), extra environment variables, a file descriptor
 * limit to run it under (`ulimit -n`: a process short of descriptors), and what it reads on stdin
 * (nothing by default: stdin is closed).
 */
export interface CliOptions {
  script?: string;
  env?: Record<string, string>;
  fdLimit?: number;
  input?: string;
}

function spawnCli(args: string[], { script = CLI, env, fdLimit, input }: CliOptions): ChildProcess {
  const [command, argv] =
    fdLimit === undefined
      ? [process.execPath, [script, ...args]]
      : ['sh', ['-c', `ulimit -n ${fdLimit} && exec "$0" "$@"`, process.execPath, script, ...args]];
  const child = spawn(command, argv, {
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    env: env ? { ...process.env, ...env } : process.env,
  });
  // A child that exits before reading it all closes the pipe: not the test's failure.
  child.stdin?.on('error', () => {});
  child.stdin?.end(input);
  return child;
}

/** Runs the CLI to completion; resolves with its exit code and output. */
export function runCli(
  args: string[],
  options: CliOptions = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** A long-running CLI process (a server), with its output so far and a way to await its exit. */
export interface Running {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
  /** Stops the process if it is still running (SIGTERM, then SIGKILL) and waits for it to exit (test cleanup). */
  close: () => Promise<void>;
}

/** How long a test's CLI process has to stop on SIGTERM before it is killed. */
const CLOSE_GRACE_MS = 5000;

/** Starts the CLI and resolves once its stdout contains `ready` (a string, or a pattern whose match is kept). */
export function startCli(
  args: string[],
  ready: string | RegExp,
  options: CliOptions = {},
): Promise<Running & { match: RegExpExecArray | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(args, options);
    let stdout = '';
    let stderr = '';
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
    const running: Running & { match: RegExpExecArray | null } = {
      match: null,
      child,
      stdout: () => stdout,
      stderr: () => stderr,
      exited,
      close: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return void (await exited);
        // SIGTERM first, as a user stops it: `up` then removes its private socket directory, which a
        // SIGKILL would leave behind in the temp dir. A process that does not stop soon is killed.
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), CLOSE_GRACE_MS);
        await exited;
        clearTimeout(killer);
      },
    };
    child.stdout!.on('data', (d) => {
      stdout += d;
      if (typeof ready === 'string' ? stdout.includes(ready) : (running.match = ready.exec(stdout))) resolve(running);
    });
    child.stderr!.on('data', (d) => (stderr += d));
    child.once('error', reject);
    void exited.then((code) => reject(new Error(`exited with ${code} before '${ready}': ${stderr}`)));
  });
}
