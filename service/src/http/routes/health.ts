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
        within(core.redis.ping(), PROBE_TIMEOUT_MS).then(
          () => 'ok',
          () => 'unavailable',
        ),
      ]);
      const ok = pg === 'ok' && redis === 'ok';
      reply.header('cache-control', 'no-store');
      return reply.code(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', postgres: pg, redis });
    },
  );
};
