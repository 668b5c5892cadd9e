/**
 * Per-test-file fixtures on the suite's real Postgres and Redis: a fresh, migrated database, a
 * Redis key prefix of its own, the core and the Fastify app built on them, and customers.
 */
import { randomBytes } from 'node:crypto';
import { inject } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import {
  createAuthCore,
  listenForRevocationEvents,
  startRevocationMaintenance,
  type AuthCore,
  type AuthCoreOptions,
} from '../../service/src/auth-core.js';
import { loadConfig, type Config } from '../../service/src/config.js';
import { migrate } from '../../service/src/db/migrate.js';
import { migrationsDir } from '../../service/src/db/migrations-dir.js';
import { createSql } from '../../service/src/db/postgres.js';
import { buildApp } from '../../service/src/http/app.js';
import { createRedis } from '../../service/src/redis.js';

export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');
export const TEST_ADMIN_TOKEN = 'test-admin-token-0123456789abcdef0123456789';

/** Creates an empty database on the suite's Postgres; returns its URL. */
export async function createDatabase(
  serverUrl = inject('postgresUrl'),
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = createSql(serverUrl, { max: 1 });
  await admin.unsafe(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const a = createSql(serverUrl, { max: 1 });
      await a.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await a.end();
    },
  };
}

/** A migrated database. */
export async function createMigratedDatabase(
  serverUrl?: string,
): Promise<{ url: string; drop: () => Promise<void> }> {
  const db = await createDatabase(serverUrl);
  const sql = createSql(db.url, { max: 1 });
  try {
    await migrate(sql, migrationsDir());
  } finally {
    await sql.end();
  }
  return db;
}

export function testConfig(databaseUrl: string, env: Record<string, string> = {}): Config {
  return loadConfig({
    AUTH_DATABASE_URL: databaseUrl,
    REDIS_URL: inject('redisUrl'),
    AUTH_MASTER_KEY: TEST_MASTER_KEY,
    AUTH_ADMIN_TOKEN: TEST_ADMIN_TOKEN,
    AUTH_LOG_LEVEL: 'silent',
    ...env,
  });
}

export interface TestStack {
  config: Config;
  core: AuthCore;
  app: FastifyInstance;
  sql: Sql;
  redis: Redis;
  prefix: string;
  /** Creates a customer row; returns its id. */
  customer(name?: string): Promise<string>;
  /** Creates a customer and an app token for it through the admin API. */
  appToken(scopes?: string[]): Promise<{ customerId: string; token: string }>;
  /** Mints through the API; fails the test on anything but 201. */
  mint(
    parent: string,
    body: Record<string, unknown>,
  ): Promise<{ token: string; jti: string; expires_at: string; scopes: string[] }>;
  verify(token: string): Promise<{ active: boolean; [k: string]: unknown }>;
  /** Revokes `token` through the API as `by`; fails the test on anything but 200. */
  revoke(by: string, token: string): Promise<void>;
  close(): Promise<void>;
}

export interface TestStackOptions extends AuthCoreOptions {
  env?: Record<string, string>;
  redisUrl?: string;
  databaseUrl?: string;
}

/** A core and app on a fresh database and Redis prefix. */
export async function createTestStack(options: TestStackOptions = {}): Promise<TestStack> {
  const db = options.databaseUrl ? undefined : await createMigratedDatabase();
  const databaseUrl = options.databaseUrl ?? (db as { url: string }).url;
  const config = testConfig(databaseUrl, {
    ...(options.redisUrl ? { REDIS_URL: options.redisUrl } : {}),
    ...options.env,
  });
  const sql = createSql(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  redis.on('error', () => {});
  const prefix = `t:${randomBytes(4).toString('hex')}`;
  const core = createAuthCore(config, sql, redis, { redisPrefix: `${prefix}:revoked`, ...options });
  const stopMaintenance = startRevocationMaintenance(core, 200);
  const stopListening = listenForRevocationEvents(core);
  const app = await buildApp(core, { rateLimitPrefix: `${prefix}:rl` });
  await app.ready();
  const stack: TestStack = {
    config,
    core,
    app,
    sql,
    redis,
    prefix,
    async customer(name = 'Acme') {
      const [row] = await sql<
        { id: string }[]
      >`INSERT INTO public.customers (name) VALUES (${name}) RETURNING id::text`;
      return (row as { id: string }).id;
    },
    async appToken(scopes) {
      const customerId = await stack.customer();
      const res = await app.inject({
        method: 'POST',
        url: `/v1/customers/${customerId}/app-tokens`,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        payload: scopes ? { scopes } : {},
      });
      if (res.statusCode !== 201) throw new Error(`app token: ${res.statusCode} ${res.body}`);
      return { customerId, token: res.json<{ token: string }>().token };
    },
    async mint(parent, body) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { authorization: `Bearer ${parent}` },
        payload: body,
      });
      if (res.statusCode !== 201) throw new Error(`mint: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async revoke(by, token) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/tokens/revoke',
        headers: { authorization: `Bearer ${by}` },
        payload: { token },
      });
      if (res.statusCode !== 200) throw new Error(`revoke: ${res.statusCode} ${res.body}`);
    },
    async verify(token) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/tokens/verify',
        payload: { token },
      });
      if (res.statusCode !== 200) throw new Error(`verify: ${res.statusCode} ${res.body}`);
      return res.json();
    },
    async close() {
      await app.close();
      stopListening();
      stopMaintenance();
      redis.disconnect();
      await sql.end({ timeout: 1 });
      await db?.drop();
    },
  };
  return stack;
}
