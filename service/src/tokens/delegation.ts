/**
 * Minting as a pure decision: given a verified parent and a request, what the child's claims are,
 * or which rule refuses it. No I/O; the clock is an argument.
 */
import type { TokenTtls } from '../config.js';
import { AuthError, ErrorCodes } from '../errors.js';
import { newTokenId } from './ids.js';
import { MAX_SUBAGENT_DEPTH, mayMint, ttlOf, type JwtKind } from './kinds.js';
import type { Actor, Principal } from './principal.js';
import { normalizeScopes, scopesBeyond } from './scopes.js';
import { randomBytes } from 'node:crypto';

export interface MintRequest {
  kind: JwtKind;
  scopes?: string[] | undefined;
  ttlSeconds?: number | undefined;
  subject?: string | undefined;
}

/** The claims of a signed token, as they appear in its payload. */
export interface TokenClaims {
  iss: string;
  sub: string;
  aud: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  cid: string;
  scope: string;
  /** The parent's id. */
  parent_jti: string;
  /** Every ancestor's id, the app token first and the parent last. */
  chain: string[];
  act?: Actor;
  /** Subagent nesting depth (subagent tokens only). */
  depth?: number;
}

export interface MintContext {
  ttls: TokenTtls;
  issuer: string;
  audience: string;
  /** Seconds since the epoch. */
  now: number;
}

export const MAX_SUBJECT_LENGTH = 256;
const SUBJECT = /^[\x21-\x7e]{1,256}$/;

/** Checks a requested subject: 1–256 printable ASCII characters, no spaces. */
export function validateSubject(subject: string): string {
  if (!SUBJECT.test(subject)) {
    throw new AuthError(
      ErrorCodes.invalidRequest,
      `subject must be 1–${MAX_SUBJECT_LENGTH} printable ASCII characters without spaces`,
    );
  }
  return subject;
}

function generatedActor(kind: 'agent' | 'subagent'): string {
  return `${kind}:${randomBytes(9).toString('base64url')}`;
}

/**
 * Decides a child token's claims. Throws {@link AuthError} with `delegation_forbidden` for a pair
 * the contract's table does not tick, `delegation_chain_too_deep` past four nested subagents and
 * `scope_escalation` for a scope the parent does not hold. Lifetime is the requested one, capped
 * at the kind's TTL and at the parent's own expiry.
 */
export function planChild(parent: Principal, request: MintRequest, ctx: MintContext): TokenClaims {
  const { kind } = request;
  if (!mayMint(parent.kind, kind)) {
    throw new AuthError(
      ErrorCodes.delegationForbidden,
      `a ${parent.kind} token may not mint a ${kind} token`,
    );
  }
  const depth = kind === 'subagent' ? (parent.kind === 'subagent' ? parent.depth + 1 : 1) : 0;
  if (depth > MAX_SUBAGENT_DEPTH) {
    throw new AuthError(
      ErrorCodes.chainTooDeep,
      `subagent tokens may be nested at most ${MAX_SUBAGENT_DEPTH} deep`,
    );
  }
  const scopes =
    request.scopes === undefined ? (parent.scopes ?? []) : normalizeScopes(request.scopes);
  const beyond = scopesBeyond(scopes, parent.scopes);
  if (beyond.length > 0) {
    throw new AuthError(
      ErrorCodes.scopeEscalation,
      `the parent token does not hold ${beyond.map((s) => JSON.stringify(s)).join(', ')}`,
    );
  }
  const kindTtl = ttlOf(kind, ctx.ttls);
  if (
    request.ttlSeconds !== undefined &&
    (!Number.isInteger(request.ttlSeconds) || request.ttlSeconds < 1)
  ) {
    throw new AuthError(ErrorCodes.invalidRequest, 'ttl_seconds must be a positive whole number');
  }
  const lifetime = Math.min(request.ttlSeconds ?? kindTtl, kindTtl);
  const exp = Math.min(ctx.now + lifetime, parent.exp);
  if (exp <= ctx.now) {
    throw new AuthError(ErrorCodes.tokenExpired, 'the parent token has expired');
  }
  const subject = request.subject === undefined ? undefined : validateSubject(request.subject);
  let sub = subject ?? parent.sub;
  let act: Actor | undefined;
  if (kind === 'agent') {
    sub = parent.sub;
    act = { sub: subject ?? generatedActor('agent') };
  } else if (kind === 'subagent') {
    sub = parent.sub;
    act = parent.act
      ? { sub: subject ?? generatedActor('subagent'), act: parent.act }
      : { sub: subject ?? generatedActor('subagent') };
  }
  const claims: TokenClaims = {
    iss: ctx.issuer,
    sub,
    aud: ctx.audience,
    iat: ctx.now,
    nbf: ctx.now,
    exp,
    jti: newTokenId(exp),
    cid: parent.cid,
    scope: scopes.join(' '),
    parent_jti: parent.jti,
    chain: [...parent.chain, parent.jti],
  };
  if (act) claims.act = act;
  if (kind === 'subagent') claims.depth = depth;
  return claims;
}
