/**
 * One worker process: opens Postgres and Redis, builds the core and the app, keeps the
 * revocation filter in step with Postgres, and listens. Its `close` finishes requests in flight
 * before the connections go.
 */
import type { FastifyInstance } from 'fastify';
import type { Config } from './config.js';
import {
  createAuthCore,
  listenForRevocationEvents,
  startRevocationMaintenance,
  type AuthCore,
  type AuthCoreOptions,
} from './auth-core.js';
import { createSql } from './db/postgres.js';
import { buildApp, REDACTED_LOG_PATHS } from './http/app.js';
import { createRedis } from './redis.js';

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
  const app = await buildApp(core, {
    logger: options.logger === undefined ? loggerOptions(config) : options.logger,
    ...(options.rateLimitPrefix === undefined ? {} : { rateLimitPrefix: options.rateLimitPrefix }),
  });
  const stopMaintenance = startRevocationMaintenance(core, options.resyncIntervalMs);
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
        await Promise.allSettled([
          sql.end({ timeout: 5 }),
          redis.quit().catch(() => redis.disconnect()),
        ]);
      })();
      return closing;
    },
  };
}
