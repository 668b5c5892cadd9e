/**
 * Runs the fault suite: its own Postgres and Redis on loopback, the service with two workers, a
 * steady mixed load, the scenarios one after another, each closed by a full audit. Everything it
 * starts is stopped in `finally`, whatever happens.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { migrate } from '../../service/src/db/migrate.js';
import { migrationsDir } from '../../service/src/db/migrations-dir.js';
import { createSql } from '../../service/src/db/postgres.js';
import {
  freePort,
  startPostgres,
  startRedis,
  type ManagedServer,
} from '../../scripts/support/servers.js';
import { audit } from './audit.js';
import { destroyPostgres } from './postgres-control.js';
import { newMasterKey, PROFILES, type Context, type Profile } from './context.js';
import { call } from './http.js';
import { Ledger } from './ledger.js';
import { Load } from './load.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { ServiceProcess } from './service-process.js';
import { formatTable, ScenarioStats } from './stats.js';

export interface SuiteOptions {
  profile: Profile['name'];
  /** Run only the scenarios whose name starts with one of these (e.g. "3"). */
  only?: string[];
  log?: (line: string) => void;
  /** Write each service instance's log here at the end. */
  logDir?: string;
}

export interface SuiteResult {
  rows: ScenarioStats[];
  table: string;
  passed: boolean;
  /** Processes of the suite still alive after it finished (must be empty). */
  leftovers: number[];
  durationMs: number;
}

async function runScenario(ctx: Context, scenario: Scenario): Promise<ScenarioStats> {
  const stats = new ScenarioStats(scenario.name);
  const load = new Load(ctx.ledger, [ctx.service.url], stats, {
    concurrency: ctx.profile.concurrency,
    pauseMs: ctx.profile.pauseMs,
    maxRequests: ctx.profile.maxRequestsPerScenario,
  });
  const workersBefore = ctx.service.workerPids().sort();
  const logMark = ctx.service.logMark;
  const exitsBefore = ctx.service.linesWith('worker exited');
  ctx.log(`scenario ${scenario.name}`);
  load.start();
  try {
    await scenario.run(ctx, stats, load);
  } catch (error) {
    stats.check(
      'scenario ran to the end',
      false,
      error instanceof Error ? error.message : String(error),
    );
    // Whatever broke, the servers must be back for the next scenario.
    if (!ctx.redis.running) await ctx.redis.start();
    if (!ctx.pg.running) await ctx.pg.start();
  } finally {
    await load.stop();
  }
  if (scenario.sameWorkers) {
    const after = ctx.service.workerPids().sort();
    stats.check(
      'no worker died or was restarted',
      JSON.stringify(after) === JSON.stringify(workersBefore),
      `${workersBefore.join(',')} → ${after.join(',')}`,
    );
    const exits = ctx.service.linesWith('worker exited') - exitsBefore;
    stats.check('no "worker exited" in the service log', exits === 0, `${exits} lines`);
  }
  if (ctx.service.running) await audit(ctx, stats);
  else stats.check('service running for the audit', false);
  stats.endedAt = Date.now();
  // A failed scenario shows what the service itself reported meanwhile (errors and worse).
  if (!stats.passed)
    for (const line of serviceErrors(ctx.service.logSince(logMark))) stats.sample(line);
  ctx.log(`  ${stats.passed ? 'pass' : 'FAIL'}: ${stats.requests} requests`);
  return stats;
}

/** The service's log lines at level error or worse (pino: 50 and up), shortened. */
export function serviceErrors(log: string, max = 5): string[] {
  const out: string[] = [];
  for (const line of log.split('\n')) {
    let level: unknown;
    try {
      level = (JSON.parse(line) as { level?: unknown }).level;
    } catch {
      continue;
    }
    if (typeof level === 'number' && level >= 50) out.push(`service: ${line.slice(0, 600)}`);
    if (out.length === max) break;
  }
  return out;
}

export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const started = Date.now();
  const profile = PROFILES[options.profile];
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  let pg: ManagedServer | undefined;
  let redis: ManagedServer | undefined;
  const instances: ServiceProcess[] = [];
  const rows: ScenarioStats[] = [];
  let ctx: Context | undefined;
  try {
    [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
    const admin = createSql(pg.url, { max: 1 });
    await admin.unsafe('CREATE DATABASE quint_faults');
    await admin.end();
    const dbUrl = new URL(pg.url);
    dbUrl.pathname = '/quint_faults';
    const databaseUrl = dbUrl.toString();
    const sql = createSql(databaseUrl, { max: 4, applicationName: 'faults-harness' });
    await migrate(sql, migrationsDir());
    const redisClient = new Redis(redis.url, { maxRetriesPerRequest: 1, enableOfflineQueue: true });
    redisClient.on('error', () => {});
    const adminToken = randomBytes(24).toString('base64url');
    const env: Record<string, string> = {
      AUTH_DATABASE_URL: databaseUrl,
      REDIS_URL: redis.url,
      AUTH_WORKERS: '2',
      AUTH_ENV: 'development',
      AUTH_MASTER_KEY: newMasterKey(),
      AUTH_ADMIN_TOKEN: adminToken,
      AUTH_LOG_LEVEL: process.env.FAULTS_SERVICE_LOG_LEVEL ?? 'warn',
      AUTH_SHUTDOWN_GRACE_MS: '5000',
      // One client on loopback makes all the traffic: per-IP and per-customer limits would
      // throttle the load itself. Throttling has its own tests.
      AUTH_RATE_LIMIT_MINT_PER_MINUTE: '10000000',
      AUTH_RATE_LIMIT_FAILED_AUTH_PER_MINUTE: '10000000',
    };
    const service = new ServiceProcess('auth-1', await freePort(), env);
    instances.push(service);
    await service.start();
    ctx = {
      profile,
      pg,
      redis,
      databaseUrl,
      sql,
      redisClient,
      env,
      adminToken,
      service,
      instances,
      ledger: new Ledger(),
      log,
    };
    for (let i = 0; i < profile.customers; i++) {
      const [row] = await sql<{ id: string }[]>`
        INSERT INTO public.customers (name) VALUES (${`faults-${i}`}) RETURNING id::text`;
      const customerId = (row as { id: string }).id;
      const res = await call(service.url, 'POST', `/v1/customers/${customerId}/app-tokens`, {
        body: {},
        headers: { authorization: `Bearer ${adminToken}` },
      });
      if (res.status !== '201') throw new Error(`app token for the load: ${res.status}`);
      const b = res.body as { token: string; expires_at: string; id?: string; jti?: string };
      const v = await call(service.url, 'POST', '/v1/tokens/verify', { body: { token: b.token } });
      ctx.ledger.add({
        token: b.token,
        jti: (v.body as { jti: string }).jti,
        kind: 'app',
        customerId,
        parent: undefined,
        depth: 0,
        expMs: Date.parse(b.expires_at),
        mintedAt: Date.now(),
      });
    }
    const scenarios = SCENARIOS.filter(
      (s) =>
        (options.profile === 'full' || !s.fullOnly) &&
        (!options.only || options.only.some((prefix) => s.name.startsWith(prefix))),
    );
    for (const scenario of scenarios) rows.push(await runScenario(ctx, scenario));
  } finally {
    log('stopping everything the suite started');
    if (options.logDir) {
      mkdirSync(options.logDir, { recursive: true });
      for (const i of instances) writeFileSync(join(options.logDir, `${i.name}.log`), i.log);
    }
    for (const instance of instances) await instance.kill();
    log('  service instances killed');
    if (ctx) {
      ctx.redisClient.disconnect();
      await ctx.sql.end({ timeout: 2 }).catch(() => {});
    }
    log('  harness connections closed');
    await Promise.all([pg && destroyPostgres(pg), redis?.destroy()]);
    log('  postgres and redis stopped');
  }
  const leftovers = instances.flatMap((i) => i.leftovers());
  const table = formatTable(rows);
  return {
    rows,
    table,
    passed: rows.length > 0 && rows.every((r) => r.passed) && leftovers.length === 0,
    leftovers,
    durationMs: Date.now() - started,
  };
}
