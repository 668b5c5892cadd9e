/**
 * Large pools of distinct, valid agent tokens for the cold-verify scenarios. Minting tens of
 * thousands through the API would take longer than the measurement, so they are made with the
 * service's own core and the customer's own signing key: the same delegation plan and the same
 * JWS encoding as POST /v1/tokens, just without the HTTP round trip and the audit row.
 * Revocations for the "a tenth revoked" pool go through the service's own revoke use case.
 */
import { createPublicKey } from 'node:crypto';
import { createAuthCore, type AuthCore } from '../../service/src/auth-core.js';
import { loadConfig } from '../../service/src/config.js';
import { createSql } from '../../service/src/db/postgres.js';
import { createRedis } from '../../service/src/redis.js';
import { planChild } from '../../service/src/tokens/delegation.js';
import { encodeJws } from '../../service/src/tokens/jws.js';
import { typOf } from '../../service/src/tokens/kinds.js';
import type { Principal } from '../../service/src/tokens/principal.js';

export interface TokenFactory {
  /** `n` fresh agent tokens minted from the bearer token. */
  agents(n: number): Promise<string[]>;
  /** Revokes each token through the service's revoke use case, as the app token. */
  revoke(tokens: readonly string[]): Promise<void>;
  /** The customer's public signing key as JWK x / y, for the HTTP-ceiling server. */
  publicJwk(): Promise<{ x: string; y: string }>;
  close(): Promise<void>;
}

export async function tokenFactory(
  env: Record<string, string>,
  appToken: string,
  bearer: string,
): Promise<TokenFactory> {
  const config = loadConfig({ ...env, AUTH_LOG_LEVEL: 'silent' });
  const sql = createSql(config.databaseUrl);
  const redis = createRedis(config.redisUrl);
  redis.on('error', () => {});
  const core: AuthCore = createAuthCore(config, sql, redis);
  const parent: Principal = await core.verifier.authenticate(bearer);
  const app: Principal = await core.verifier.authenticate(appToken);
  const key = await core.keys.signingKey(parent.cid);
  return {
    async agents(n) {
      const out: string[] = new Array<string>(n);
      const header = { alg: 'ES256' as const, typ: typOf('agent'), kid: key.kid };
      for (let i = 0; i < n; i++) {
        const claims = planChild(
          parent,
          { kind: 'agent' },
          { ttls: config.ttl, issuer: config.issuer, audience: config.audience, now: core.now() },
        );
        out[i] = encodeJws(header, claims, key.privateKey);
      }
      return out;
    },
    async revoke(tokens) {
      let next = 0;
      const lane = async () => {
        while (next < tokens.length) {
          const token = tokens[next++] as string;
          const result = await core.tokens.revoke(app, token);
          if (!result.revoked) throw new Error('a benchmark token was not revoked');
        }
      };
      await Promise.all(Array.from({ length: 16 }, lane));
    },
    async publicJwk() {
      const jwk = createPublicKey(key.privateKey).export({ format: 'jwk' });
      return { x: jwk.x ?? '', y: jwk.y ?? '' };
    },
    async close() {
      redis.disconnect();
      await sql.end({ timeout: 2 });
    },
  };
}
