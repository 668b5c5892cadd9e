/**
 * The Fastify application: security headers, problem+json errors, then the routes. Takes a built
 * {@link AuthCore}; opening and closing connections is the caller's business (see server.ts).
 */
import { randomUUID } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { AuthCore } from '../auth-core.js';
import { ErrorCodes } from '../errors.js';
import { createAuthenticator } from './authenticate.js';
import { problemFromError, problemOf, sendProblem } from './problem.js';
import { RateLimiter } from './rate-limiter.js';
import { adminRoutes } from './routes/admin.js';
import { healthRoutes } from './routes/health.js';
import { jwksRoutes } from './routes/jwks.js';
import { tokenRoutes } from './routes/tokens.js';

export const BODY_LIMIT_BYTES = 16 * 1024;
export const HEADER_LIMIT_BYTES = 16 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Paths whose values must never reach a log line. */
export const REDACTED_LOG_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  '*.token',
  '*.password',
  '*.privateKey',
  '*.masterKey',
  '*.adminToken',
  'body',
];

export interface BuildAppOptions {
  logger?: FastifyServerOptions['logger'];
  /** Key prefix for rate-limit counters in Redis. */
  rateLimitPrefix?: string;
}

export async function buildApp(
  core: AuthCore,
  options: BuildAppOptions = {},
): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: BODY_LIMIT_BYTES,
    routerOptions: { maxParamLength: 200 },
    trustProxy: core.config.trustProxy,
    http: { maxHeaderSize: HEADER_LIMIT_BYTES },
    connectionTimeout: 30_000,
    keepAliveTimeout: 65_000,
    requestTimeout: 30_000,
    return503OnClosing: true,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // JSON only: Fastify would otherwise hand a text/plain body to the routes as a string.
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (request, reply, payload) => {
    reply.header('x-request-id', request.id);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('x-frame-options', 'DENY');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (core.config.env === 'production') {
      reply.header('strict-transport-security', 'max-age=63072000; includeSubDomains');
    }
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((error, request, reply) => {
    const problem = problemFromError(error, request);
    if (problem.status >= 500) {
      request.log.error(
        {
          err: {
            type: (error as Error)?.name,
            message: (error as Error)?.message,
            code: (error as { code?: unknown })?.code,
          },
        },
        'request failed',
      );
    } else {
      request.log.info({ code: problem.code }, problem.detail);
    }
    return sendProblem(reply, problem);
  });

  app.setNotFoundHandler((request, reply) =>
    sendProblem(
      reply,
      problemOf(
        ErrorCodes.notFound,
        `no route for ${request.method} ${request.url.split('?')[0]}`,
        request.id,
      ),
    ),
  );

  const limiter = new RateLimiter(core.redis, options.rateLimitPrefix);
  const auth = createAuthenticator(core, limiter);
  await app.register(healthRoutes, { core });
  await app.register(jwksRoutes, { core });
  await app.register(tokenRoutes, { core, auth, limiter });
  if (core.config.adminToken !== undefined) {
    await app.register(adminRoutes, { core, auth, adminToken: core.config.adminToken });
  }
  return app;
}
