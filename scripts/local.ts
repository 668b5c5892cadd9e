/**
 * npm run local: the whole service on this machine without Docker. Starts Postgres and Redis
 * with their data under .local/ (kept between runs), migrates, bootstraps a demo customer, starts
 * the service and prints an app token with a curl walk-through. Ctrl-C stops everything.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createAuthCore } from '../service/src/auth-core.js';
import { loadConfig } from '../service/src/config.js';
import { migrate } from '../service/src/db/migrate.js';
import { migrationsDir } from '../service/src/db/migrations-dir.js';
import { createSql } from '../service/src/db/postgres.js';
import { createRedis } from '../service/src/redis.js';
import { progress, run } from './cli.js';
import {
  postgresBinDir,
  redisServerBin,
  startPostgres,
  startRedis,
  type ManagedServer,
} from './support/servers.js';

const root = resolve(import.meta.dirname, '..');
const dataDir = join(root, '.local');

/** A secret generated on first run and kept in .local/, so stored keys stay readable across runs. */
function persistentSecret(name: string, make: () => string): string {
  const path = join(dataDir, name);
  if (existsSync(path)) return readFileSync(path, 'utf8').trim();
  const value = make();
  writeFileSync(path, `${value}\n`, { mode: 0o600 });
  return value;
}

async function waitForHealth(url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/health`);
      if (res.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the service did not become healthy at ${url} within ${timeoutMs / 1000} s`);
}

run(async () => {
  try {
    postgresBinDir();
    redisServerBin();
  } catch (error) {
    throw new Error(`${(error as Error).message}`);
  }
  mkdirSync(dataDir, { recursive: true });
  const port = Number(process.env.AUTH_PORT ?? 8001);
  const servers: ManagedServer[] = [];
  let service: ReturnType<typeof spawn> | undefined;
  const stopAll = async () => {
    if (service && service.exitCode === null) {
      service.kill('SIGTERM');
      await new Promise((r) => service?.once('exit', r));
    }
    for (const s of servers.reverse()) await s.destroy().catch(() => {});
  };
  process.once('SIGINT', () => {
    progress('\nstopping…');
    void stopAll().then(() => process.exit(0));
  });
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(0)));

  try {
    progress('starting Postgres and Redis (data in .local/)…');
    const pg = await startPostgres({ dataDir: join(dataDir, 'postgres') });
    servers.push(pg);
    const redis = await startRedis({ dataDir: join(dataDir, 'redis') });
    servers.push(redis);

    const admin = createSql(pg.url, { max: 1 });
    const [exists] = await admin`SELECT 1 FROM pg_database WHERE datname = 'quint'`;
    if (!exists) await admin.unsafe('CREATE DATABASE quint');
    await admin.end();
    const databaseUrl = pg.url.replace(/\/postgres$/, '/quint');

    const env = {
      ...process.env,
      AUTH_DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      AUTH_PORT: String(port),
      AUTH_WORKERS: process.env.AUTH_WORKERS ?? '2',
      AUTH_ENV: 'development',
      AUTH_MASTER_KEY: persistentSecret('master-key', () => randomBytes(32).toString('base64')),
      AUTH_ADMIN_TOKEN: persistentSecret('admin-token', () =>
        randomBytes(24).toString('base64url'),
      ),
    };
    const config = loadConfig(env);

    const sql = createSql(config.databaseUrl, { max: 2 });
    const redisClient = createRedis(config.redisUrl);
    redisClient.on('error', () => {});
    let appToken: string;
    let customerId: string;
    try {
      await migrate(sql, migrationsDir(), progress);
      const [demo] = await sql<
        { id: string }[]
      >`SELECT id::text FROM public.customers WHERE name = 'Demo customer' LIMIT 1`;
      customerId =
        demo?.id ??
        (
          await sql<
            { id: string }[]
          >`INSERT INTO public.customers (name) VALUES ('Demo customer') RETURNING id::text`
        )[0]!.id;
      const core = createAuthCore(config, sql, redisClient);
      await core.keys.checkMasterKeys();
      const created = await core.tokens.createAppToken(
        customerId,
        { name: 'npm run local' },
        'local',
      );
      appToken = created.token;
    } finally {
      redisClient.disconnect();
      await sql.end({ timeout: 2 });
    }

    progress(`starting the auth service on :${port} with ${env.AUTH_WORKERS} workers…`);
    service = spawn(process.execPath, [...process.execArgv, join(root, 'service/src/server.ts')], {
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const url = `http://localhost:${port}`;
    const exited = new Promise<never>((_, reject) =>
      service?.once('exit', (code) => reject(new Error(`the service exited with code ${code}`))),
    );
    await Promise.race([waitForHealth(url, 30_000), exited]);

    process.stdout.write(
      [
        '',
        `Quint auth is running at ${url} (Postgres ${databaseUrl}, Redis ${redis.url}).`,
        '',
        `Demo customer:  ${customerId}`,
        `App token:      ${appToken}`,
        `Admin token:    in .local/admin-token`,
        '',
        'Try it:',
        `  APP=${appToken}`,
        `  AGENT=$(curl -s -X POST ${url}/v1/tokens -H "authorization: Bearer $APP" -H 'content-type: application/json' \\`,
        `    -d '{"kind":"agent","scopes":["tickets:read"],"subject":"support-bot"}' | node -pe 'JSON.parse(require("fs").readFileSync(0)).token')`,
        `  curl -s -X POST ${url}/v1/tokens/verify -H 'content-type: application/json' -d "{\\"token\\":\\"$AGENT\\"}"`,
        `  curl -s -X POST ${url}/v1/tokens/revoke -H "authorization: Bearer $APP" -H 'content-type: application/json' -d "{\\"token\\":\\"$AGENT\\"}"`,
        `  curl -s -X POST ${url}/v1/tokens/verify -H 'content-type: application/json' -d "{\\"token\\":\\"$AGENT\\"}"   # {"active":false}`,
        '',
        'Ctrl-C stops the service, Redis and Postgres (data stays in .local/).',
        '',
      ].join('\n'),
    );
    await exited;
  } finally {
    await stopAll();
  }
});
