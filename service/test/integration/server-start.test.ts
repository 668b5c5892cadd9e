/**
 * The process at start: a bad or missing variable, or a master key that does not open the stored
 * keys, stops it with one line naming the variable; a good configuration serves on AUTH_PORT
 * with AUTH_WORKERS workers and stops cleanly on SIGTERM.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { freePort } from '../../../scripts/support/servers.js';
import { eventually } from '../../../test/support/eventually.js';
import { rawConnection } from '../../../test/support/raw-connection.js';
import { createMigratedDatabase, TEST_MASTER_KEY } from '../../../test/support/fixtures.js';

let db: { url: string; drop: () => Promise<void> };
beforeAll(async () => {
  db = await createMigratedDatabase();
});
afterAll(async () => db?.drop());

function start(
  env: Record<string, string | undefined>,
  options: { ownProcessGroup?: boolean } = {},
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; stderr: string; stdout: string }>;
  stdout: () => string;
} {
  const clean = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('AUTH_') && k !== 'REDIS_URL'),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'service/src/server.ts'], {
    env: { ...clean, AUTH_LOG_LEVEL: 'warn', ...env } as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.ownProcessGroup ?? false,
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
  const done = new Promise<{ code: number | null; stderr: string; stdout: string }>((resolve) =>
    child.on('exit', (code) => resolve({ code, stderr, stdout })),
  );
  return { child, done, stdout: () => stdout };
}

/** Polls GET /health until it answers 200 or the time is up. */
async function healthyWithin(port: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await fetch(`http://127.0.0.1:${port}/health`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

const base = () => ({
  AUTH_DATABASE_URL: db.url,
  REDIS_URL: inject('redisUrl'),
  AUTH_MASTER_KEY: TEST_MASTER_KEY,
});

describe('a bad configuration stops the process with one line naming the variable', () => {
  it.concurrent.each([
    ['AUTH_DATABASE_URL', { AUTH_DATABASE_URL: undefined }],
    ['AUTH_DATABASE_URL', { AUTH_DATABASE_URL: 'mysql://x@y/z' }],
    ['AUTH_MASTER_KEY', { AUTH_MASTER_KEY: undefined }],
    [
      'AUTH_MASTER_KEY',
      { AUTH_ENV: 'production', AUTH_MASTER_KEY: 'local-dev-master-key-do-not-use-in-prod' },
    ],
    ['AUTH_PORT', { AUTH_PORT: 'eighty' }],
    ['AUTH_WORKERS', { AUTH_WORKERS: '0' }],
    ['AUTH_ENV', { AUTH_ENV: 'prod' }],
    ['REDIS_URL', { REDIS_URL: 'http://localhost:6379' }],
    ['AUTH_SESSION_TOKEN_TTL_MINUTES', { AUTH_SESSION_TOKEN_TTL_MINUTES: '-5' }],
  ])('%s', async (variable, env) => {
    const { done } = start({ ...base(), ...env });
    const { code, stderr } = await done;
    expect(code).toBe(1);
    const lines = stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^${variable}: `));
  });

  it('a master key that does not open the stored signing keys', async () => {
    // Give the database a signing key under the test master key first.
    const { createSql } = await import('../../src/db/postgres.js');
    const sql = createSql(db.url, { max: 1 });
    const [c] = await sql<
      { id: string }[]
    >`INSERT INTO public.customers (name) VALUES ('x') RETURNING id::text`;
    await sql.end();
    const { createTestStack } = await import('../../../test/support/fixtures.js');
    const stack = await createTestStack({ databaseUrl: db.url });
    await stack.core.tokens.createAppToken(c!.id, {}, 'test');
    await stack.close();

    const { done } = start({ ...base(), AUTH_MASTER_KEY: Buffer.alloc(32, 1).toString('hex') });
    const { code, stderr } = await done;
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^AUTH_MASTER_KEY: /);
  });
});

/**
 * Starts the service with `env` on a free port, runs `whileServing` once /health answers, then
 * sends SIGTERM; resolves with how the process ended.
 */
async function serve(
  env: Record<string, string>,
  whileServing: (port: number, stdout: () => string) => Promise<void> = async () => {},
) {
  const port = await freePort();
  const { child, done, stdout } = start({
    ...base(),
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    ...env,
  });
  try {
    expect(await healthyWithin(port, 20_000)).toBe(true);
    await whileServing(port, stdout);
  } finally {
    child.kill('SIGTERM');
  }
  return done;
}

describe('a good configuration', () => {
  it('serves /health with two workers on AUTH_PORT and exits 0 on SIGTERM', async () => {
    const { code } = await serve({ AUTH_MASTER_KEY: TEST_MASTER_KEY, AUTH_WORKERS: '2' });
    expect(code).toBe(0);
  });

  it('writes access lines within a second while serving, not only at exit', async () => {
    const { code } = await serve(
      { AUTH_WORKERS: '1', AUTH_LOG_LEVEL: 'info' },
      async (port, stdout) => {
        await fetch(`http://127.0.0.1:${port}/v1/tokens/verify`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-request-id': 'flush-check' },
          body: JSON.stringify({ token: 'x.y.z' }),
        });
        await eventually(() => stdout().includes('"reqId":"flush-check"'), 1500, 'the access line');
        expect(stdout()).toContain('"reqId":"flush-check"');
      },
    );
    expect(code).toBe(0);
  });

  it('accepts the compose file local-dev passphrase and the asyncpg URL form outside production, with a warning', async () => {
    const empty = await createMigratedDatabase();
    const { code, stdout } = await serve({
      AUTH_MASTER_KEY: 'local-dev-master-key-do-not-use-in-prod',
      AUTH_DATABASE_URL: empty.url.replace(/^postgres:/, 'postgresql+asyncpg:'),
      AUTH_WORKERS: '1',
    });
    expect(code).toBe(0);
    expect(stdout).toMatch(/AUTH_MASTER_KEY is a passphrase/);
    await empty.drop();
  });

  it('drains a request in flight when SIGTERM reaches the whole process group (systemd, kill -- -PGID)', async () => {
    // Each worker then gets SIGTERM twice: from the sender and from the primary passing it on.
    const port = await freePort();
    const { child, done } = start(
      { ...base(), AUTH_PORT: String(port), AUTH_HOST: '127.0.0.1', AUTH_WORKERS: '2' },
      { ownProcessGroup: true },
    );
    const group = -(child.pid as number);
    try {
      expect(await healthyWithin(port, 20_000)).toBe(true);
      const body = JSON.stringify({ token: 'x.y.z' });
      const c = await rawConnection(port);
      // In flight: headers and part of the body sent, the rest only after the signal.
      c.socket.write(
        'POST /v1/tokens/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n' +
          `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 5)}`,
      );
      await new Promise((r) => setTimeout(r, 200));
      process.kill(group, 'SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      c.socket.write(body.slice(5));
      // The answer ends the connection: the worker need not wait for the client to close it.
      const closedByServer = await c.closedWithin(5000);
      c.socket.destroy();
      const received = c.received();
      expect(received).toMatch(/^HTTP\/1\.1 200 /);
      expect(received).toContain('{"active":false}');
      expect(received.toLowerCase()).toContain('connection: close');
      expect(closedByServer).toBe(true);
      const { code, stderr } = await done;
      expect(stderr).not.toContain('second SIGTERM');
      expect(code).toBe(0);
    } finally {
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
});
