import type { FastifyPluginAsync } from 'fastify';
import type { AuthCore } from '../../auth-core.js';
import { HealthResponse } from '../schemas.js';

const PROBE_TIMEOUT_MS = 1000;

function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms).unref()),
  ]);
}

/** Pings Redis, waiting for a connection that is being (re)established rather than failing at once. */
async function pingRedis(core: AuthCore): Promise<string> {
  const { redis } = core;
  if (
    redis.status === 'connecting' ||
    redis.status === 'connect' ||
    redis.status === 'reconnecting'
  ) {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        redis.off('ready', onReady);
        reject(new Error('redis not ready'));
      }, PROBE_TIMEOUT_MS);
      timer.unref();
      const onReady = () => {
        clearTimeout(timer);
        resolve();
      };
      redis.once('ready', onReady);
    });
  }
  return redis.ping();
}

/** `GET /health`: 200 when Postgres and Redis both answer, 503 naming the one that does not. */
export const healthRoutes: FastifyPluginAsync<{ core: AuthCore }> = async (app, { core }) => {
  app.get(
    '/health',
    { schema: { response: { 200: HealthResponse, 503: HealthResponse } }, logLevel: 'warn' },
    async (_request, reply) => {
      const [pg, redis] = await Promise.all([
        within(core.sql`SELECT 1`, PROBE_TIMEOUT_MS).then(
          () => 'ok',
          () => 'unavailable',
        ),
        within(pingRedis(core), PROBE_TIMEOUT_MS).then(
          () => 'ok',
          () => 'unavailable',
        ),
      ]);
      const ok = pg === 'ok' && redis === 'ok';
      return reply
        .code(ok ? 200 : 503)
        .send({ status: ok ? 'ok' : 'unavailable', postgres: pg, redis });
    },
  );
};
