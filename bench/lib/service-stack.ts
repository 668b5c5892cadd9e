/**
 * The system under test: Postgres and Redis (real servers on loopback ports), a migrated database,
 * and the auth service started as `npm start` starts it, AUTH_WORKERS=2, with the rate limits
 * raised through their own variables. Also the credentials the scenarios need.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  freePort,
  startPostgres,
  startRedis,
  type ManagedServer,
} from '../../scripts/support/servers.js';
import { migrate } from '../../service/src/db/migrate.js';
import { migrationsDir } from '../../service/src/db/migrations-dir.js';
import { createSql } from '../../service/src/db/postgres.js';
import { start, stop } from './children.js';
import { childrenOf } from './procfs.js';

/** Raised for the run so that the limits, not the service, are not what is measured. */
export const RAISED_RATE_LIMITS = {
  AUTH_RATE_LIMIT_MINT_PER_MINUTE: '10000000',
  AUTH_RATE_LIMIT_FAILED_AUTH_PER_MINUTE: '10000000',
};

export interface Backends {
  postgres: ManagedServer;
  redis: ManagedServer;
  databaseUrl: string;
}

export async function startBackends(): Promise<Backends> {
  const [postgres, redis] = await Promise.all([startPostgres(), startRedis()]);
  const admin = createSql(postgres.url, { max: 1 });
  try {
    await admin.unsafe('CREATE DATABASE bench');
  } finally {
    await admin.end();
  }
  const url = new URL(postgres.url);
  url.pathname = '/bench';
  const databaseUrl = url.toString();
  const sql = createSql(databaseUrl, { max: 1 });
  try {
    await migrate(sql, migrationsDir());
  } finally {
    await sql.end();
  }
  return { postgres, redis, databaseUrl };
}

export interface Service {
  url: string;
  port: number;
  env: Record<string, string>;
  adminToken: string;
  primary: ChildProcess;
  workerPids: number[];
  logFile: string;
}

export interface ServiceOptions {
  out: string;
  workers: number;
  logDir: string;
  /** Extra node flags for the primary and (through node:cluster) its workers, e.g. --cpu-prof. */
  nodeFlags?: string[];
  env?: Record<string, string>;
}

export async function startService(backends: Backends, options: ServiceOptions): Promise<Service> {
  const port = await freePort();
  const adminToken = randomBytes(32).toString('hex');
  const env: Record<string, string> = {
    AUTH_DATABASE_URL: backends.databaseUrl,
    REDIS_URL: backends.redis.url,
    AUTH_PORT: String(port),
    AUTH_HOST: '127.0.0.1',
    AUTH_WORKERS: String(options.workers),
    AUTH_ENV: 'development',
    AUTH_MASTER_KEY: randomBytes(32).toString('base64'),
    AUTH_ADMIN_TOKEN: adminToken,
    ...RAISED_RATE_LIMITS,
    ...options.env,
  };
  const logFile = join(options.logDir, 'service.log');
  const log = openSync(logFile, 'a');
  const primary = start(
    process.execPath,
    [...(options.nodeFlags ?? []), join(options.out, 'service', 'src', 'server.js')],
    { env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['ignore', log, log] },
  );
  closeSync(log);
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (primary.exitCode !== null) {
      throw new Error(
        `the service exited at start:\n${readFileSync(logFile, 'utf8').slice(-4000)}`,
      );
    }
    const workerPids = childrenOf(primary.pid ?? 0);
    const healthy = await fetch(`${url}/health`)
      .then((r) => r.ok)
      .catch(() => false);
    if (healthy && workerPids.length === options.workers) {
      return { url, port, env, adminToken, primary, workerPids, logFile };
    }
    if (Date.now() > deadline) {
      await stop(primary);
      throw new Error(`the service did not become healthy within 30 s; see ${logFile}`);
    }
    await sleep(100);
  }
}

async function postJson<T>(url: string, body: unknown, bearer?: string): Promise<T> {
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
    },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`POST ${new URL(url).pathname}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

export interface Credentials {
  customerId: string;
  appToken: string;
  bearer: string;
}

/** A customer, its app token (admin API) and a bearer token minted from it (token API). */
export async function createCredentials(
  service: Service,
  databaseUrl: string,
): Promise<Credentials> {
  const sql = createSql(databaseUrl, { max: 1 });
  let customerId: string;
  try {
    const [row] = await sql<{ id: string }[]>`
      INSERT INTO public.customers (name) VALUES ('bench') RETURNING id::text`;
    customerId = (row as { id: string }).id;
  } finally {
    await sql.end();
  }
  const app = await postJson<{ token: string }>(
    `${service.url}/v1/customers/${customerId}/app-tokens`,
    {},
    service.adminToken,
  );
  const bearer = await postJson<{ token: string }>(
    `${service.url}/v1/tokens`,
    { kind: 'bearer' },
    app.token,
  );
  return { customerId, appToken: app.token, bearer: bearer.token };
}

/** Mints `n` agent tokens through the API. */
export async function mintAgents(service: Service, bearer: string, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    out.push(
      (await postJson<{ token: string }>(`${service.url}/v1/tokens`, { kind: 'agent' }, bearer))
        .token,
    );
  }
  return out;
}
