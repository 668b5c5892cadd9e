/**
 * One worker process: opens Postgres and Redis, builds the core and the app, keeps the
 * revocation filter in step with Postgres, and listens. Its `close` finishes requests in flight
 * before the connections go.
 */
import { once } from 'node:events';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import type { pino } from 'pino';
import type { Config } from './config.js';
import {
  createAuthCore,
  listenForRevocationEvents,
  startRevocationMaintenance,
  type AuthCore,
  type AuthCoreOptions,
} from './auth-core.js';
import { createSql } from './db/postgres.js';
import { buildApp, REDACTED_LOG_PATHS, type AccessLog } from './http/app.js';
import { JsonLineLog } from './http/request-logging.js';
import { BlockLogDestination } from './log-destination.js';
import { createRedis } from './redis.js';

/** How long a starting worker waits for its connections before it takes requests anyway (ms). */
const WARM_UP_MS = 2000;

/** Log lines are handed to stdout's writer in blocks of this many characters (about 60 lines)… */
const LOG_BLOCK_CHARS = 12 * 1024;
/** …or after this long, whichever comes first. */
const LOG_FLUSH_MS = 500;

export interface RunningWorker {
  app: FastifyInstance;
  core: AuthCore;
  /** Stops accepting, finishes requests in flight, then closes the connections. */
  close(): Promise<void>;
}

export interface StartWorkerOptions extends AuthCoreOptions {
  /** Listen on this port instead of config.port (0: any free port). */
  port?: number;
  /** pino logger options, or false. */
  logger?: boolean | Record<string, unknown>;
  /** How often to copy recent revocations from Postgres into the filter (ms). */
  resyncIntervalMs?: number;
  rateLimitPrefix?: string;
}

export function loggerOptions(config: Config): Record<string, unknown> {
  return {
    level: config.logLevel,
    redact: { paths: REDACTED_LOG_PATHS, censor: '[redacted]' },
    serializers: {
      req: (req: { method: string; url: string; id: string; ip?: string }) => ({
        method: req.method,
        url: req.url,
        id: req.id,
        ip: req.ip,
      }),
    },
  };
}

/**
 * The worker's logging on one destination: Fastify's logger (redacted), and the access log on the
 * same destination and level without redaction (see buildApp's RequestLifecycleController).
 */
export function logging(
  config: Config,
  destination: pino.DestinationStream,
): { logger: FastifyServerOptions['logger']; accessLog: AccessLog } {
  return {
    logger: { ...loggerOptions(config), stream: destination },
    accessLog: new JsonLineLog(config.logLevel, destination),
  };
}

/** Writes out whatever the log destination still holds. */
function flushLog(destination: BlockLogDestination | undefined): void {
  try {
    destination?.close();
  } catch {
    // stdout is gone (the reader closed the pipe): nothing left to write to.
  }
}

/**
 * Opens the worker's first Postgres connection and waits for Redis, for at most `boundMs`. A worker
 * that replaces one that died gets its share of connections from node:cluster as soon as it
 * listens; it should not take them while its own connections are still opening. With a store down
 * it listens anyway once the bound has passed (or at once, when Redis refuses), and answers as
 * during any outage.
 */
export async function warmUp(sql: Sql, redis: Redis, boundMs = WARM_UP_MS): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    Promise.allSettled([
      sql`SELECT 1`,
      redis.status === 'ready' ? undefined : once(redis, 'ready'),
    ]),
    new Promise((resolve) => (timer = setTimeout(resolve, boundMs))),
  ]);
  clearTimeout(timer);
}

export async function startWorker(
  config: Config,
  options: StartWorkerOptions = {},
): Promise<RunningWorker> {
  const sql = createSql(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  redis.on('error', () => {
    // Connection errors surface on the commands that need Redis; the checker falls back to Postgres.
  });
  const core = createAuthCore(config, sql, redis, options);
  const stopListening = listenForRevocationEvents(core);
  // Log lines go to stdout asynchronously and in blocks (see BlockLogDestination); they are
  // written out on close and at exit.
  const destination =
    options.logger === undefined
      ? new BlockLogDestination(1, { blockChars: LOG_BLOCK_CHARS, flushMs: LOG_FLUSH_MS })
      : undefined;
  const flushAtExit = () => flushLog(destination);
  if (destination) process.once('exit', flushAtExit);
  const app = await buildApp(core, {
    ...(destination ? logging(config, destination) : { logger: options.logger }),
    ...(options.rateLimitPrefix === undefined ? {} : { rateLimitPrefix: options.rateLimitPrefix }),
  });
  const stopMaintenance = startRevocationMaintenance(core, options.resyncIntervalMs);
  await warmUp(sql, redis);
  await app.listen({ port: options.port ?? config.port, host: config.host });
  let closing: Promise<void> | undefined;
  return {
    app,
    core,
    close() {
      closing ??= (async () => {
        stopMaintenance();
        await app.close();
        stopListening();
        // Nothing needs the connections once the app has closed: give a maintenance query or
        // QUIT a moment, then cut them, so a half-dead connection cannot eat the grace period.
        await Promise.allSettled([
          sql.end({ timeout: 1 }),
          Promise.race([
            redis.quit(),
            new Promise((resolve) => setTimeout(resolve, 1000).unref()),
          ]).finally(() => redis.disconnect()),
        ]);
        flushLog(destination);
        process.removeListener('exit', flushAtExit);
      })();
      return closing;
    },
  };
}
