/**
 * Every process the benchmark starts goes through here, in a process group of its own, so that
 * cleanup can stop exactly those groups (by id) on success, on failure and on Ctrl-C.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

const running = new Set<ChildProcess>();

function alive(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // the group has gone
  }
}

function groupAlive(child: ChildProcess): boolean {
  if (child.pid === undefined) return false;
  try {
    process.kill(-child.pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Starts `command` as the leader of a new process group and remembers it for cleanup. */
export function start(command: string, args: string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(command, args, { ...options, detached: true });
  running.add(child);
  child.once('exit', () => running.delete(child));
  return child;
}

/** Waits for the child to exit. */
export function exited(child: ChildProcess): Promise<void> {
  if (!alive(child)) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGTERM to the child's group, SIGKILL after `graceMs` if it is still there. */
export async function stop(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (alive(child)) {
    signalGroup(child, 'SIGTERM');
    const done = await Promise.race([exited(child).then(() => true), sleep(graceMs, false)]);
    if (!done) {
      signalGroup(child, 'SIGKILL');
      await exited(child);
    }
  }
  // Workers may outlive their primary by a moment (finishing requests, or writing a --cpu-prof
  // profile): give the group a few seconds, then SIGKILL stray grandchildren, which share it.
  const until = Date.now() + 5000;
  while (groupAlive(child) && Date.now() < until) await sleep(50);
  signalGroup(child, 'SIGKILL');
  running.delete(child);
}

/** Stops every child still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((c) => stop(c, 5000)));
}

/** Last resort on process exit: SIGKILL to every group we started. Synchronous. */
export function killAllNow(): void {
  for (const child of running) signalGroup(child, 'SIGKILL');
}

/**
 * Stops what was started however the run ends: SIGKILL to every group at exit (the last resort),
 * and on SIGINT or SIGTERM `cleanup` first, then exit 130.
 */
export function stopEverythingOnExit(
  progress: (message: string) => void,
  cleanup: () => Promise<void>,
): void {
  process.on('exit', killAllNow);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      progress(`${signal}: stopping everything this run started`);
      void cleanup().finally(() => process.exit(130));
    });
  }
}

/**
 * Runs `command` to its end (tracked like every child, so Ctrl-C stops it too); its stdout. An
 * exit code other than 0 is an error carrying its stderr; a command not installed is an error
 * saying `missing` (how to get it).
 */
export function runToEnd(command: string, args: string[], missing = ''): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = start(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new Error(e.code === 'ENOENT' ? `${command} not found: ${missing}` : e.message)),
    );
    child.once('exit', (code) => {
      if (code === 0) resolvePromise(out);
      else reject(new Error(`${command} ${args.join(' ')} exited with ${code}: ${err.trim()}`));
    });
  });
}

/** Runs one of the compiled bench's scripts (`out`/bench/`script`) to its end; its stdout. */
export function runBenchScript(out: string, script: string, args: string[]): Promise<string> {
  return runToEnd(process.execPath, [join(out, 'bench', script), ...args]);
}
