import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { AuthCore } from '../../auth-core.js';
import { AuthError, ErrorCodes } from '../../errors.js';
import type { Principal } from '../../tokens/principal.js';
import type { Authenticator } from '../authenticate.js';
import { NOT_DELIVERED } from '../deadlines.js';
import type { RateLimiter } from '../rate-limiter.js';
import {
  MintBody,
  MintResponse,
  Problem,
  RevokeResponse,
  TokenBody,
  VerifyResponse,
} from '../schemas.js';

export interface TokenRoutesOptions {
  core: AuthCore;
  auth: Authenticator;
  limiter: RateLimiter;
}

const problems = {
  400: Problem,
  401: Problem,
  403: Problem,
  413: Problem,
  415: Problem,
  429: Problem,
  503: Problem,
};

/** The introspection view of a principal (RFC 7662 style, plus our own claims). */
export function introspection(p: Principal, core: Pick<AuthCore, 'config'>) {
  return {
    active: true,
    kind: p.kind,
    cid: p.cid,
    customer_id: p.cid,
    sub: p.sub,
    jti: p.jti,
    scopes: p.scopes ?? [],
    scope: (p.scopes ?? []).join(' '),
    exp: p.exp,
    iat: p.iat,
    iss: core.config.issuer,
    aud: core.config.audience,
    // Absent members are undefined rather than spread in: one shape for every answer, no spread
    // objects (the serializer leaves undefined members out).
    parent_jti: p.chain.length > 0 ? p.chain[p.chain.length - 1] : undefined,
    chain: p.chain.length > 0 ? p.chain : undefined,
    act: p.act,
    kid: p.kid || undefined,
    delegation_depth: p.kind === 'subagent' ? p.depth : undefined,
  };
}

const JSON_UTF8 = 'application/json; charset=utf-8';

export const tokenRoutes: FastifyPluginAsync<TokenRoutesOptions> = async (
  app,
  { core, auth, limiter },
) => {
  /** Verify answers already serialised, by principal (see the verify route). */
  const introspected = new WeakMap<Principal, string>();

  app.post<{ Body: MintBody }>(
    '/v1/tokens',
    { schema: { body: MintBody, response: { 201: MintResponse, ...problems } } },
    async (request, reply) => {
      const parent = await auth.principal(request);
      const limit = await limiter.hit('mint', parent.cid, core.config.mintRateLimitPerMinute);
      if (!limit.allowed) {
        reply.header('retry-after', String(limit.resetSeconds));
        throw new AuthError(
          ErrorCodes.rateLimited,
          `minting limit reached for this customer; retry in ${limit.resetSeconds} s`,
        );
      }
      const body = request.body;
      const minted = await core.tokens.mint(parent, {
        kind: body.kind,
        scopes: body.scopes,
        ttlSeconds: body.ttl_seconds,
        subject: body.subject,
      });
      if (reply.sent) {
        // Answered 503 at the request deadline while the token was made: the caller never gets it.
        request.log.warn({ jti: minted.jti }, NOT_DELIVERED);
        return reply;
      }
      return reply.code(201).send({
        token: minted.token,
        kind: minted.kind,
        jti: minted.jti,
        expires_at: minted.expiresAt.toISOString(),
        expires_in: minted.claims.exp - core.now(),
        scopes: minted.scopes,
        token_type: 'Bearer',
      });
    },
  );

  /** The verify answer for a token found valid, written out. */
  const active = (principal: Principal, reply: FastifyReply): FastifyReply => {
    // A verified token's principal is one object for as long as the verifier remembers it, and
    // its answer never changes: serialise it once (the verifier checks revocation every time).
    // Only answers of principals the verifier remembers are kept: an entry for every token
    // presented once would cost more (WeakMap entries are work for each garbage collection,
    // ~0.8 us an entry measured alone) than the serialisation it could never save.
    let body = introspected.get(principal);
    if (body === undefined) {
      // JSON.stringify rather than the route's compiled schema: the view has only the schema's
      // members, in its order, so the text is the same (tested), and V8 writes it in one piece
      // where fast-json-stringify joins ~20 strings (~1 KB of garbage a cold token).
      body = JSON.stringify(introspection(principal, core));
      if (core.verifier.remembers(principal)) introspected.set(principal, body);
    }
    return reply.type(JSON_UTF8).send(body);
  };

  /** The answer for a token found invalid, expired or revoked; other errors are rethrown. */
  const inactive = (error: unknown, request: FastifyRequest): { active: false } => {
    // An invalid, expired or revoked token is an answer, not an error (RFC 7662).
    if (error instanceof AuthError && error.code !== ErrorCodes.dependencyUnavailable) {
      request.log.debug({ code: error.code }, 'inactive token');
      return { active: false };
    }
    throw error;
  };

  app.post<{ Body: TokenBody }>(
    '/v1/tokens/verify',
    { schema: { body: TokenBody, response: { 200: VerifyResponse, ...problems } } },
    // Not an async handler: a token whose checks all answer at once (the key in memory, the
    // revocation answer in the worker's memory or copy) is answered without a promise or a turn
    // of the event loop (bench/README.md).
    (request, reply) => {
      let principal: Principal | Promise<Principal>;
      try {
        principal = core.verifier.inspectNow(request.body.token);
      } catch (error) {
        return inactive(error, request);
      }
      if (principal instanceof Promise) {
        return principal.then(
          (p) => active(p, reply),
          (error: unknown) => inactive(error, request),
        );
      }
      active(principal, reply);
      return undefined;
    },
  );

  app.post<{ Body: TokenBody }>(
    '/v1/tokens/revoke',
    { schema: { body: TokenBody, response: { 200: RevokeResponse, ...problems } } },
    async (request) => {
      const caller = await auth.principal(request);
      let result;
      try {
        result = await core.tokens.revoke(caller, request.body.token);
      } catch (error) {
        if (
          error instanceof AuthError &&
          (error.code === ErrorCodes.invalidToken || error.code === ErrorCodes.tokenRevoked)
        ) {
          throw new AuthError(ErrorCodes.invalidRequest, `token: ${error.message}`);
        }
        throw error;
      }
      return result;
    },
  );
};
