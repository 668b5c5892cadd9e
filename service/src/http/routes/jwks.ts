import type { FastifyPluginAsync } from 'fastify';
import type { AuthCore } from '../../auth-core.js';
import { JwksResponse } from '../schemas.js';

/** `GET /.well-known/jwks.json`: every public key that can still verify an unexpired token. */
export const jwksRoutes: FastifyPluginAsync<{ core: AuthCore }> = async (app, { core }) => {
  app.get(
    '/.well-known/jwks.json',
    { schema: { response: { 200: JwksResponse } } },
    async (_request, reply) => {
      const keys = await core.keys.jwks();
      // Short, so a rotated key reaches verifiers that cache the set quickly.
      reply.header('cache-control', 'public, max-age=60');
      return { keys };
    },
  );
};
