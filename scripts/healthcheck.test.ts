/**
 * The container health probe: healthy only on a 200 in time; a 503, a refused connection or a
 * service that does not answer all make the container unhealthy.
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { checkHealth, healthTarget } from './healthcheck.js';

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
});

async function serve(handler: Parameters<typeof createServer>[1]): Promise<number> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

describe('health probe', () => {
  it('is healthy when /health answers 200', async () => {
    const port = await serve((req, res) => {
      res.writeHead(req.url === '/health' ? 200 : 404).end('{"status":"ok"}');
    });
    expect(await checkHealth(`http://127.0.0.1:${port}/health`, 1000)).toEqual({
      healthy: true,
      status: 200,
    });
  });

  it('is unhealthy on a 503 (Postgres or Redis unreachable)', async () => {
    const port = await serve((_req, res) => res.writeHead(503).end('{"status":"error"}'));
    expect(await checkHealth(`http://127.0.0.1:${port}/health`, 1000)).toEqual({
      healthy: false,
      reason: `http://127.0.0.1:${port}/health answered HTTP 503`,
    });
  });

  it('is unhealthy when the service does not answer in time', async () => {
    const port = await serve(() => {
      /* never answers */
    });
    const started = Date.now();
    const outcome = await checkHealth(`http://127.0.0.1:${port}/health`, 200);
    expect(outcome).toEqual({
      healthy: false,
      reason: expect.stringMatching(/did not answer within 200 ms/),
    });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('is unhealthy when nothing listens', async () => {
    const port = await serve(() => {});
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
    const outcome = await checkHealth(`http://127.0.0.1:${port}/health`, 1000);
    expect(outcome).toEqual({ healthy: false, reason: expect.stringMatching(/ECONNREFUSED/) });
  });

  it('asks the port the service listens on, AUTH_PORT, default 8001', () => {
    expect(healthTarget({})).toEqual({ url: 'http://127.0.0.1:8001/health', timeoutMs: 3000 });
    expect(healthTarget({ AUTH_PORT: '9100', HEALTHCHECK_TIMEOUT_MS: '500' })).toEqual({
      url: 'http://127.0.0.1:9100/health',
      timeoutMs: 500,
    });
    expect(healthTarget({ AUTH_PORT: 'eighty' }).url).toBe('http://127.0.0.1:8001/health');
  });

  it('as a program, exits 0 on 200 and 1 otherwise, as HEALTHCHECK needs', async () => {
    const ok = await serve((_req, res) => res.writeHead(200).end('{}'));
    const down = await serve((_req, res) => res.writeHead(503).end('{}'));
    const script = fileURLToPath(new URL('./healthcheck.ts', import.meta.url));
    const probe = (port: number) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', script], {
        env: { ...process.env, AUTH_PORT: String(port) },
      }).then(
        () => 0,
        (error: { code?: number }) => error.code ?? -1,
      );
    expect(await probe(ok)).toBe(0);
    expect(await probe(down)).toBe(1);
  });
});
