/**
 * The real auth service as a child process (`node --import tsx service/src/server.ts`: the cluster
 * primary and its AUTH_WORKERS workers), started and stopped by the fault suite. Every process
 * started here is killed by `kill()`, which the suite calls in a finally block.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs a repository script (`scripts/*.ts`) with tsx; resolves with its exit code and output. */
export function runScript(
  script: string,
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolvePromise) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, script)], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/**
 * Direct children of a process whose command line contains `marker` (the cluster's workers run
 * server.ts; tsx also starts an esbuild helper, which is not a worker).
 */
export function childPids(pid: number, marker = 'service/src/server.ts'): number[] {
  try {
    const out = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pid)], {
      encoding: 'utf8',
    });
    return out
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.includes(marker))
      .map((l) => Number(l.split(/\s+/)[0]))
      .filter((n) => Number.isInteger(n) && n > 0 && isAlive(n));
  } catch {
    return []; // ps exits 1 when there are none
  }
}

/** Every descendant of a process (children, their children, …). */
export function descendantPids(pid: number): number[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const line of out.split('\n')) {
    const [c, p] = line.trim().split(/\s+/).map(Number);
    if (c === undefined || p === undefined || !c) continue;
    children.set(p, [...(children.get(p) ?? []), c]);
  }
  const found: number[] = [];
  const stack = [pid];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop() as number) ?? []) {
      found.push(c);
      stack.push(c);
    }
  }
  return found;
}

/** Whether `pid` is a live process (a zombie waiting to be reaped counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/**
 * Log markers counted over everything an instance writes (the kept log is only its tail, which a
 * flood of lines can push a marker out of): a worker's death, and a handler's late answer sent
 * after the deadline's (Fastify's warning with a stack trace).
 */
export const LOG_MARKERS = ['worker exited', 'FST_ERR_REP_ALREADY_SENT'] as const;
export type LogMarker = (typeof LOG_MARKERS)[number];

export class ServiceProcess {
  readonly port: number;
  readonly env: Record<string, string>;
  readonly name: string;
  #child: ChildProcess | undefined;
  #log = '';
  /** Characters ever written to the log, of which `#log` holds the last 64,000. */
  #logWritten = 0;
  /** The unfinished last line of the log, and how many lines so far hold each marker. */
  #partialLine = '';
  readonly #markers = new Map<LogMarker, number>(LOG_MARKERS.map((m) => [m, 0]));
  #exit: Promise<{ code: number | null; signal: string | null }> | undefined;
  /** Every pid this instance ever had (primary and workers), so `kill()` leaves nothing behind. */
  readonly #pids = new Set<number>();

  constructor(name: string, port: number, env: Record<string, string>) {
    this.name = name;
    this.port = port;
    this.env = { ...env, AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1' };
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The last lines the service wrote (pino JSON on stdout, anything else on stderr). */
  get log(): string {
    return this.#log;
  }

  /** How many lines the service has written so far that hold `marker` (all of its output). */
  linesWith(marker: LogMarker): number {
    return this.#markers.get(marker) ?? 0;
  }

  /** A mark for {@link logSince}: how much the service has written so far. */
  get logMark(): number {
    return this.#logWritten;
  }

  /** What the service wrote after `mark`, as far as the kept tail of the log reaches back. */
  logSince(mark: number): string {
    const kept = this.#logWritten - this.#log.length;
    return this.#log.slice(Math.max(0, mark - kept));
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  /** Starts the primary and waits until /health answers 200 and AUTH_WORKERS workers run. */
  async start(timeoutMs = 30_000): Promise<void> {
    const child = spawn(process.execPath, ['--import', 'tsx', 'service/src/server.ts'], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...this.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.#child = child;
    if (child.pid) this.#pids.add(child.pid);
    const append = (d: Buffer) => {
      const text = d.toString();
      this.#logWritten += text.length;
      this.#log = (this.#log + text).slice(-64_000);
      const lines = (this.#partialLine + text).split('\n');
      this.#partialLine = (lines.pop() as string).slice(-64_000);
      for (const line of lines) {
        for (const marker of LOG_MARKERS) {
          if (line.includes(marker))
            this.#markers.set(marker, (this.#markers.get(marker) ?? 0) + 1);
        }
      }
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.#exit = new Promise((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const workers = Number(this.env.AUTH_WORKERS ?? '2');
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(`${this.name} exited at start:\n${this.#log.slice(-4000)}`);
      if (this.workerPids().length >= workers && (await this.healthy())) return;
      await sleep(100);
    }
    throw new Error(`${this.name} did not become healthy within ${timeoutMs} ms:\n${this.#log}`);
  }

  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      return res.status === 200;
    } catch {
      return false;
    }
  }

  /** The workers' pids now. */
  workerPids(): number[] {
    const pid = this.#child?.pid;
    if (pid === undefined || !this.running) return [];
    for (const p of descendantPids(pid)) this.#pids.add(p);
    return childPids(pid);
  }

  signal(signal: NodeJS.Signals): void {
    this.workerPids();
    this.#child?.kill(signal);
  }

  /** Waits for the primary to exit; undefined if it has not within `timeoutMs`. */
  async waitExit(
    timeoutMs: number,
  ): Promise<{ code: number | null; signal: string | null; ms: number } | undefined> {
    const started = Date.now();
    if (!this.#exit) return undefined;
    const result = await Promise.race([this.#exit, sleep(timeoutMs).then(() => undefined)]);
    return result && { ...result, ms: Date.now() - started };
  }

  /** Pids of this instance (primary or workers, past or present) that are still alive. */
  leftovers(): number[] {
    return [...this.#pids].filter(isAlive);
  }

  /** SIGKILLs the primary and every worker it ever had. Safe to call at any time. */
  async kill(): Promise<void> {
    this.workerPids();
    for (const pid of this.#pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (this.#child && this.running) await this.waitExit(5000);
    for (let i = 0; i < 50 && this.leftovers().length > 0; i++) await sleep(100);
  }
}
