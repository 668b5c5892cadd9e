/**
 * Bearer credentials (RFC 6750) and the throttle on failed attempts, shared across workers.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { AuthCore } from '../auth-core.js';
import { AuthError, ErrorCodes } from '../errors.js';
import type { Principal } from '../tokens/principal.js';
import type { RateLimiter } from './rate-limiter.js';
import { statusOf } from './problem.js';

/** The token in `Authorization: Bearer <token>`, or undefined. */
export function bearerToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const m = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  return m?.[1];
}

export interface Authenticator {
  /** The verified caller, or AuthError (401/429/503). */
  principal(request: FastifyRequest): Promise<Principal>;
  /** Checks the admin shared secret; AuthError if wrong. */
  admin(request: FastifyRequest, adminToken: string): Promise<void>;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

export function createAuthenticator(core: AuthCore, limiter: RateLimiter): Authenticator {
  const limit = core.config.failedAuthRateLimitPerMinute;

  async function guarded<T>(request: FastifyRequest, check: () => Promise<T>): Promise<T> {
    const state = await limiter.exceeded('auth-fail', request.ip, limit);
    if (!state.allowed) {
      throw new AuthError(
        ErrorCodes.rateLimited,
        `too many failed authentication attempts; retry in ${state.resetSeconds} s`,
      );
    }
    try {
      return await check();
    } catch (error) {
      if (error instanceof AuthError && statusOf(error.code) === 401) {
        await limiter.hit('auth-fail', request.ip, limit);
      }
      throw error;
    }
  }

  return {
    principal(request) {
      return guarded(request, async () => {
        const token = bearerToken(request);
        if (token === undefined) {
          throw new AuthError(
            ErrorCodes.missingCredential,
            'send the parent token as Authorization: Bearer <token>',
          );
        }
        try {
          return await core.verifier.authenticate(token);
        } catch (error) {
          if (error instanceof AuthError && error.code === ErrorCodes.invalidToken) {
            throw new AuthError(
              ErrorCodes.invalidCredential,
              `the bearer token is not valid: ${error.message}`,
            );
          }
          throw error;
        }
      });
    },
    admin(request, adminToken) {
      return guarded(request, async () => {
        const token = bearerToken(request);
        if (token === undefined) {
          throw new AuthError(
            ErrorCodes.missingCredential,
            'send AUTH_ADMIN_TOKEN as Authorization: Bearer <token>',
          );
        }
        if (!timingSafeEqual(digest(token), digest(adminToken))) {
          throw new AuthError(ErrorCodes.invalidCredential, 'the admin token is not valid');
        }
      });
    },
  };
}
