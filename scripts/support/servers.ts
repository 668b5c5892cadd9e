/**
 * Real Postgres and Redis servers for tests, benchmarks and `npm run local`: each runs from a data
 * folder of its own on a free loopback port and is stopped by the code that started it.
 *
 * Postgres refuses to run as root, so when we are root it runs as the `postgres` system user with a
 * data folder that user owns.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  chownSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Asks the kernel for a loopback port that nobody is listening on right now. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('no port'));
      });
    });
  });
}

function which(bin: string): string | undefined {
  try {
    return (
      execFileSync('sh', ['-c', `command -v ${bin}`], { encoding: 'utf8' }).trim() || undefined
    );
  } catch {
    return undefined;
  }
}

/** Finds Postgres' server binaries (Debian keeps them out of PATH, under /usr/lib/postgresql). */
export function postgresBinDir(): string {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return join(root, versions[0], 'bin');
  }
  const initdb = which('initdb');
  if (initdb) return initdb.replace(/\/initdb$/, '');
  throw new Error(
    'Postgres server binaries not found. Install them: apt-get install -y postgresql (Debian/Ubuntu) or brew install postgresql (macOS).',
  );
}

/** Finds redis-server. */
export function redisServerBin(): string {
  const bin = which('redis-server');
  if (!bin) {
    throw new Error(
      'redis-server not found. Install it: apt-get install -y redis-server (Debian/Ubuntu) or brew install redis (macOS).',
    );
  }
  return bin;
}

const isRoot = userInfo().uid === 0;

function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  return isRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

function postgresUid(): { uid: number; gid: number } {
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  return { uid, gid };
}

async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  logs: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not become ready within ${timeoutMs} ms\n${logs()}`);
}

async function canConnect(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A server process that can be stopped, killed and started again on the same port and data. */
export interface ManagedServer {
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Starts the server (again) on the same port and data folder. */
  start(): Promise<void>;
  /** Stops it cleanly (SIGTERM / fast shutdown) and waits for the process to exit. */
  stop(): Promise<void>;
  /** Kills it with SIGKILL. */
  kill(): Promise<void>;
  /** Stops it and removes its data folder, unless it was given a persistent folder. */
  destroy(): Promise<void>;
  readonly running: boolean;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** The postmaster's pid from its pid file, if it is running. */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

export interface PostgresOptions {
  /** Keep data here across runs (created and initialised on first use). Default: a temp folder removed on destroy. */
  dataDir?: string;
  port?: number;
}

/** Starts a Postgres cluster on a free loopback port; its superuser is `postgres`, trust auth on loopback. */
export async function startPostgres(options: PostgresOptions = {}): Promise<ManagedServer> {
  const bin = postgresBinDir();
  const persistent = options.dataDir !== undefined;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'quint-pg-'));
  mkdirSync(dir, { recursive: true });
  const dataDir = join(dir, 'data');
  const socketDir = join(dir, 'run');
  mkdirSync(socketDir, { recursive: true });
  if (isRoot) {
    const { uid, gid } = postgresUid();
    chownSync(dir, uid, gid);
    chownSync(socketDir, uid, gid);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    const [cmd, args] = asPostgresUser(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-sync',
      '--locale=C',
    ]);
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  }
  const port = options.port ?? (await freePort());
  let child: ChildProcess | undefined;
  let log = '';
  const server: ManagedServer = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) return;
      const [cmd, args] = asPostgresUser(join(bin, 'postgres'), [
        '-D',
        dataDir,
        '-p',
        String(port),
        '-k',
        socketDir,
        '-c',
        'listen_addresses=127.0.0.1',
        '-c',
        'fsync=off',
        '-c',
        'synchronous_commit=off',
        '-c',
        'full_page_writes=off',
        '-c',
        'max_connections=300',
        '-c',
        'shared_buffers=128MB',
      ]);
      log = '';
      child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      child.stderr?.on('data', (d: Buffer) => {
        log = (log + d.toString()).slice(-8000);
      });
      const c = child;
      await waitFor(
        'postgres',
        async () => {
          if (c.exitCode !== null) throw new Error(`postgres exited with ${c.exitCode}\n${log}`);
          if (!(await canConnect(port))) return false;
          try {
            const [pc, pa] = asPostgresUser(join(bin, 'pg_isready'), [
              '-h',
              '127.0.0.1',
              '-p',
              String(port),
              '-q',
            ]);
            execFileSync(pc, pa, { stdio: 'ignore' });
            return true;
          } catch {
            return false;
          }
        },
        30_000,
        () => log,
      );
    },
    async stop() {
      if (!child || !server.running) return;
      const c = child;
      // Fast shutdown (SIGINT) disconnects clients without waiting for them. It goes to the
      // postmaster itself: `runuser`, our direct child when we are root, blocks SIGINT.
      const pid = postmasterPid(dataDir);
      if (pid !== undefined) process.kill(pid, 'SIGINT');
      else c.kill('SIGTERM');
      await exited(c);
      // The postmaster removes its pid file last; a new one cannot start before that.
      const deadline = Date.now() + 10_000;
      while (existsSync(join(dataDir, 'postmaster.pid')) && Date.now() < deadline) await sleep(20);
    },
    async kill() {
      if (!child || !server.running) return;
      const c = child;
      c.kill('SIGKILL');
      await exited(c);
      // a killed postmaster can leave backends behind holding the port and shared memory
      try {
        execFileSync('pkill', ['-KILL', '-f', `postgres -D ${dataDir}`], { stdio: 'ignore' });
      } catch {
        /* none left */
      }
      await sleep(100);
    },
    async destroy() {
      await server.stop();
      if (!persistent) rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}

export interface RedisOptions {
  /** Keep an append-only file in this folder across restarts. Default: no persistence at all. */
  dataDir?: string;
  port?: number;
}

/** Starts redis-server on a free loopback port. Without `dataDir` it keeps nothing on disk. */
export async function startRedis(options: RedisOptions = {}): Promise<ManagedServer> {
  const bin = redisServerBin();
  const persistent = options.dataDir !== undefined;
  const dir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'quint-redis-'));
  mkdirSync(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const conf = join(dir, 'redis.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      'databases 64',
      'save ""',
      persistent ? 'appendonly yes' : 'appendonly no',
      'protected-mode yes',
      'loglevel warning',
    ].join('\n') + '\n',
  );
  let child: ChildProcess | undefined;
  let log = '';
  const server: ManagedServer = {
    url: `redis://127.0.0.1:${port}/0`,
    port,
    dir,
    get running() {
      return child !== undefined && child.exitCode === null && child.signalCode === null;
    },
    async start() {
      if (server.running) return;
      log = '';
      child = spawn(bin, [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      const append = (d: Buffer) => {
        log = (log + d.toString()).slice(-8000);
      };
      child.stdout?.on('data', append);
      child.stderr?.on('data', append);
      const c = child;
      await waitFor(
        'redis',
        async () => {
          if (c.exitCode !== null) throw new Error(`redis exited with ${c.exitCode}\n${log}`);
          return canConnect(port);
        },
        15_000,
        () => log,
      );
    },
    async stop() {
      if (!child || !server.running) return;
      const c = child;
      c.kill('SIGTERM');
      await exited(c);
    },
    async kill() {
      if (!child || !server.running) return;
      const c = child;
      c.kill('SIGKILL');
      await exited(c);
    },
    async destroy() {
      await server.stop();
      if (!persistent) rmSync(dir, { recursive: true, force: true });
    },
  };
  await server.start();
  return server;
}
