/**
 * The token use cases (mint, revoke, create an app token), wiring the pure core to its stores.
 */
import type { Sql } from 'postgres';
import { recordAudit, type AuditBatcher } from '../audit/audit-log.js';
import type { Config } from '../config.js';
import { AuthError, ErrorCodes } from '../errors.js';
import type { SigningKeyStore } from '../keys/signing-keys.js';
import type { RevocationChecker } from '../revocation/revocation-checker.js';
import type { RevocationStore } from '../revocation/revocation-store.js';
import type { AppTokenStore } from './app-token-store.js';
import { planChild, validateSubject, type MintRequest, type TokenClaims } from './delegation.js';
import { encodeJws } from './jws.js';
import { typOf, type TokenKind } from './kinds.js';
import type { Principal } from './principal.js';
import { normalizeScopes } from './scopes.js';
import type { TokenVerifier } from './verifier.js';

export interface MintResult {
  token: string;
  kind: TokenKind;
  jti: string;
  expiresAt: Date;
  scopes: string[];
  claims: TokenClaims;
}

export interface RevokeResult {
  jti: string;
  kind: TokenKind;
  /** False when the token was revoked already or had expired (nothing left to do). */
  revoked: boolean;
}

export interface AppTokenResult {
  token: string;
  id: string;
  customerId: string;
  expiresAt: Date;
  scopes: string[] | null;
  subject: string;
  kid: string;
  signingKeyCreated: boolean;
}

export interface TokenServiceDeps {
  sql: Sql;
  config: Pick<Config, 'ttl' | 'issuer' | 'audience'>;
  keys: SigningKeyStore;
  verifier: TokenVerifier;
  appTokens: AppTokenStore;
  revocations: RevocationStore;
  checker: RevocationChecker;
  /** Where mints are recorded: many concurrent mints in one INSERT. */
  audit: AuditBatcher;
  /** Seconds since the epoch. */
  now: () => number;
}

/** How a principal is named in the audit log. */
export function actorOf(p: Principal): string {
  return `${p.kind}:${p.jti}`;
}

export class TokenService {
  readonly #d: TokenServiceDeps;

  constructor(deps: TokenServiceDeps) {
    this.#d = deps;
  }

  /** Mints a child of `parent`, as the delegation rules allow. */
  async mint(parent: Principal, request: MintRequest): Promise<MintResult> {
    const { config } = this.#d;
    const claims = planChild(parent, request, {
      ttls: config.ttl,
      issuer: config.issuer,
      audience: config.audience,
      now: this.#d.now(),
    });
    const key = await this.#d.keys.signingKey(parent.cid);
    const token = encodeJws(
      { alg: 'ES256', typ: typOf(request.kind), kid: key.kid },
      claims,
      key.privateKey,
    );
    await this.#d.audit.record({
      customerId: parent.cid,
      actor: actorOf(parent),
      action: 'token.mint',
      target: claims.jti,
      details: { kind: request.kind, scope: claims.scope, exp: claims.exp, kid: key.kid },
    });
    return {
      token,
      kind: request.kind,
      jti: claims.jti,
      expiresAt: new Date(claims.exp * 1000),
      scopes: claims.scope === '' ? [] : claims.scope.split(' '),
      claims,
    };
  }

  /**
   * Revokes `token` and, through the lineage check, everything minted from it. The caller must be
   * the token itself, one of its ancestors, or an app token of the same customer.
   */
  async revoke(caller: Principal, token: string): Promise<RevokeResult> {
    const target = await this.#d.verifier.inspect(token, {
      allowExpired: true,
      skipRevocation: true,
    });
    const allowed =
      caller.jti === target.jti ||
      target.chain.includes(caller.jti) ||
      (caller.kind === 'app' && caller.cid === target.cid);
    if (!allowed || caller.cid !== target.cid) {
      throw new AuthError(
        ErrorCodes.revokeForbidden,
        'only the token itself, one of its ancestors or an app token of the same customer may revoke it',
      );
    }
    if (target.exp <= this.#d.now()) return { jti: target.jti, kind: target.kind, revoked: false };
    const fresh = await this.#d.revocations.revoke({
      jti: target.jti,
      exp: target.exp,
      customerId: target.cid,
      kind: target.kind,
      revokedBy: actorOf(caller),
    });
    if (target.kind === 'app') await this.#d.appTokens.markRevoked(target.jti);
    await this.#d.checker.revoked([{ jti: target.jti, exp: target.exp }]);
    if (fresh) {
      await recordAudit(this.#d.sql, {
        customerId: target.cid,
        actor: actorOf(caller),
        action: 'token.revoke',
        target: target.jti,
        details: { kind: target.kind },
      });
    }
    return { jti: target.jti, kind: target.kind, revoked: fresh };
  }

  /** Creates an app token for a customer, and its signing key first if it has none. */
  async createAppToken(
    customerId: string,
    input: {
      scopes?: string[] | undefined;
      subject?: string | undefined;
      name?: string | undefined;
      ttlSeconds?: number | undefined;
    },
    actor: string,
  ): Promise<AppTokenResult> {
    const result = await this.#createAppToken(customerId, input, actor, false);
    return result as AppTokenResult;
  }

  /**
   * Creates an app token only if the customer has no active one, deciding under the customer's
   * row lock so that concurrent callers (several bootstraps at once) create one token, not two.
   */
  createAppTokenIfNoneActive(
    customerId: string,
    actor: string,
  ): Promise<AppTokenResult | undefined> {
    return this.#createAppToken(customerId, {}, actor, true);
  }

  async #createAppToken(
    customerId: string,
    input: {
      scopes?: string[] | undefined;
      subject?: string | undefined;
      name?: string | undefined;
      ttlSeconds?: number | undefined;
    },
    actor: string,
    onlyIfNoneActive: boolean,
  ): Promise<AppTokenResult | undefined> {
    const scopes = input.scopes === undefined ? null : normalizeScopes(input.scopes);
    const subject = input.subject === undefined ? undefined : validateSubject(input.subject);
    const maxTtl = this.#d.config.ttl.app;
    const ttlSeconds = Math.min(input.ttlSeconds ?? maxTtl, maxTtl);
    return this.#d.sql.begin(async (tx) => {
      const key = await this.#d.keys.ensureForCustomer(tx, customerId, actor);
      if (onlyIfNoneActive && (await this.#d.appTokens.hasActive(tx, customerId))) return undefined;
      const created = await this.#d.appTokens.create(
        tx,
        {
          customerId,
          ttlSeconds,
          scopes,
          createdBy: actor,
          ...(subject === undefined ? {} : { subject }),
          ...(input.name === undefined ? {} : { name: input.name }),
        },
        this.#d.now(),
      );
      await recordAudit(tx, {
        customerId,
        actor,
        action: actor === 'bootstrap' ? 'bootstrap.app_token' : 'app_token.create',
        target: created.record.id,
        details: { scopes, expires_at: new Date(created.record.expiresAt * 1000).toISOString() },
      });
      return {
        token: created.token,
        id: created.record.id,
        customerId,
        expiresAt: new Date(created.record.expiresAt * 1000),
        scopes,
        subject: created.record.subject,
        kid: key.kid,
        signingKeyCreated: key.created,
      };
    });
  }
}
