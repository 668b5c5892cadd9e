/**
 * The container's HEALTHCHECK: exits 0 if and only if GET http://127.0.0.1:${AUTH_PORT:-8001}/health
 * answers 200 within the time limit (default 3 s, HEALTHCHECK_TIMEOUT_MS). A 503 (Postgres or Redis
 * unreachable, contract section 5) makes the container unhealthy, as it should: it cannot serve.
 * Uses node:http rather than fetch so it starts fast and has nothing to load.
 */
import { request } from 'node:http';
import { pathToFileURL } from 'node:url';

export type HealthOutcome =
  | { readonly healthy: true; readonly status: 200 }
  | { readonly healthy: false; readonly reason: string };

/** Asks `url` once; never throws. */
export function checkHealth(url: string, timeoutMs: number): Promise<HealthOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    const settle = (outcome: HealthOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve(outcome);
    };
    const req = request(url, { method: 'GET', headers: { accept: 'application/json' } }, (res) => {
      const status = res.statusCode ?? 0;
      res.resume();
      settle(
        status === 200
          ? { healthy: true, status: 200 }
          : { healthy: false, reason: `${url} answered HTTP ${status}` },
      );
    });
    const timer = setTimeout(
      () => settle({ healthy: false, reason: `${url} did not answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
    req.on('error', (error) => settle({ healthy: false, reason: `${url}: ${error.message}` }));
    req.end();
  });
}

/** The URL and time limit from the environment the service itself reads. */
export function healthTarget(env: Readonly<Record<string, string | undefined>>): {
  url: string;
  timeoutMs: number;
} {
  const port = env.AUTH_PORT && /^\d+$/.test(env.AUTH_PORT) ? env.AUTH_PORT : '8001';
  const timeout = Number(env.HEALTHCHECK_TIMEOUT_MS);
  return {
    url: `http://127.0.0.1:${port}/health`,
    timeoutMs: Number.isFinite(timeout) && timeout > 0 ? timeout : 3000,
  };
}

async function main(): Promise<void> {
  const { url, timeoutMs } = healthTarget(process.env);
  const outcome = await checkHealth(url, timeoutMs);
  if (outcome.healthy) {
    process.stdout.write('healthy\n');
    process.exitCode = 0;
  } else {
    process.stderr.write(`unhealthy: ${outcome.reason}\n`);
    process.exitCode = 1;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
