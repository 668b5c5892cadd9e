/**
 * planChild, the pure minting decision (contract section 4): the delegation table, scope narrowing,
 * lifetimes capped by kind and by parent, RFC 8693 `act`, and the ancestry every child carries.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { statusOf } from '../../src/http/problem.js';
import { planChild, type MintContext, type MintRequest } from '../../src/tokens/delegation.js';
import { expiryDayOfId, isTokenId, newTokenId } from '../../src/tokens/ids.js';
import { JWT_KINDS, TOKEN_KINDS, type TokenKind } from '../../src/tokens/kinds.js';
import type { Principal } from '../../src/tokens/principal.js';
import { AUDIENCE, codeOfSync, CONTRACT_TABLE, DEFAULT_TTLS, ISSUER, T0 } from './helpers.js';

const ctx: MintContext = { ttls: DEFAULT_TTLS, issuer: ISSUER, audience: AUDIENCE, now: T0 };
const cid = randomUUID();

/** An app token valid for a year, with the given scopes (null: unscoped). */
function appPrincipal(scopes: string[] | null = ['read', 'write', 'admin']): Principal {
  return {
    kind: 'app',
    jti: newTokenId(T0 + DEFAULT_TTLS.app),
    cid,
    sub: 'customer-service-account',
    scopes,
    iat: T0 - 1000,
    exp: T0 + DEFAULT_TTLS.app,
    chain: [],
    depth: 0,
  };
}

/** Turns planned claims into the principal the verifier would produce for them. */
function asPrincipal(kind: TokenKind, c: ReturnType<typeof planChild>): Principal {
  const p: Principal = {
    kind,
    jti: c.jti,
    cid: c.cid,
    sub: c.sub,
    scopes: c.scope === '' ? [] : c.scope.split(' '),
    iat: c.iat,
    nbf: c.nbf,
    exp: c.exp,
    chain: c.chain,
    depth: c.depth ?? 0,
  };
  if (c.act) p.act = c.act;
  return p;
}

/** A parent principal of any kind, minted along an allowed path from an app token. */
function parentOf(kind: TokenKind): Principal {
  const app = appPrincipal();
  const path: Record<TokenKind, TokenKind[]> = {
    app: [],
    bearer: ['bearer'],
    agent: ['agent'],
    subagent: ['agent', 'subagent'],
    session: ['session'],
    override: ['override'],
  };
  let p = app;
  for (const k of path[kind])
    p = asPrincipal(k, planChild(p, { kind: k as MintRequest['kind'] }, ctx));
  return p;
}

describe('the delegation table', () => {
  const cells = TOKEN_KINDS.flatMap((parent) => JWT_KINDS.map((child) => [parent, child] as const));

  it.each(cells)('%s → %s is minted exactly when the table ticks it, else 403', (parent, child) => {
    const p = parentOf(parent);
    const request: MintRequest = { kind: child };
    if (CONTRACT_TABLE[parent][child]) {
      const claims = planChild(p, request, ctx);
      expect(claims.parent_jti).toBe(p.jti);
    } else {
      const code = codeOfSync(() => planChild(p, request, ctx));
      expect(code).toBe('delegation_forbidden');
      expect(statusOf(code)).toBe(403);
    }
  });

  it('allows subagents nested four deep under an agent and refuses the fifth with 403', () => {
    let p = parentOf('agent');
    for (let depth = 1; depth <= 4; depth++) {
      const c = planChild(p, { kind: 'subagent' }, ctx);
      expect(c.depth).toBe(depth);
      p = asPrincipal('subagent', c);
    }
    const code = codeOfSync(() => planChild(p, { kind: 'subagent' }, ctx));
    expect(code).toBe('delegation_chain_too_deep');
    expect(statusOf(code)).toBe(403);
  });
});

describe('scopes', () => {
  it('a child may hold a subset of its parent’s scopes', () => {
    const c = planChild(appPrincipal(['read', 'write']), { kind: 'bearer', scopes: ['read'] }, ctx);
    expect(c.scope).toBe('read');
  });

  it('a child asking for a scope its parent lacks is refused with scope_escalation (403)', () => {
    const bearer = asPrincipal(
      'bearer',
      planChild(appPrincipal(), { kind: 'bearer', scopes: ['read'] }, ctx),
    );
    const code = codeOfSync(() =>
      planChild(bearer, { kind: 'agent', scopes: ['read', 'write'] }, ctx),
    );
    expect(code).toBe('scope_escalation');
    expect(statusOf(code)).toBe(403);
  });

  it('a parent with no scopes can delegate none', () => {
    const bearer = asPrincipal(
      'bearer',
      planChild(appPrincipal(), { kind: 'bearer', scopes: [] }, ctx),
    );
    expect(codeOfSync(() => planChild(bearer, { kind: 'session', scopes: ['read'] }, ctx))).toBe(
      'scope_escalation',
    );
    expect(planChild(bearer, { kind: 'session', scopes: [] }, ctx).scope).toBe('');
  });

  it('omitted scopes are the parent’s own', () => {
    const bearer = asPrincipal(
      'bearer',
      planChild(appPrincipal(), { kind: 'bearer', scopes: ['write', 'read'] }, ctx),
    );
    expect(planChild(bearer, { kind: 'agent' }, ctx).scope).toBe('write read');
  });

  it('an unscoped app token may delegate any scope', () => {
    const c = planChild(
      appPrincipal(null),
      { kind: 'bearer', scopes: ['anything', 'admin:all'] },
      ctx,
    );
    expect(c.scope).toBe('anything admin:all');
  });

  it('a malformed scope is a bad request (invalid_scope, 400), not an escalation', () => {
    const code = codeOfSync(() =>
      planChild(appPrincipal(null), { kind: 'bearer', scopes: ['a b'] }, ctx),
    );
    expect(code).toBe('invalid_scope');
    expect(statusOf(code)).toBe(400);
  });

  it('repeated scopes are stored once', () => {
    expect(planChild(appPrincipal(), { kind: 'bearer', scopes: ['read', 'read'] }, ctx).scope).toBe(
      'read',
    );
  });
});

describe('lifetimes', () => {
  it.each(JWT_KINDS.filter((k) => k !== 'subagent'))(
    'a %s token lives its kind’s TTL by default and never longer, even when asked',
    (kind) => {
      const ttl = DEFAULT_TTLS[kind];
      const parent = appPrincipal();
      expect(planChild(parent, { kind }, ctx).exp).toBe(T0 + ttl);
      expect(planChild(parent, { kind, ttlSeconds: ttl + 1 }, ctx).exp).toBe(T0 + ttl);
      expect(planChild(parent, { kind, ttlSeconds: 10 * ttl }, ctx).exp).toBe(T0 + ttl);
    },
  );

  it('a subagent lives at most the subagent TTL', () => {
    const agent = parentOf('agent');
    expect(planChild(agent, { kind: 'subagent', ttlSeconds: 86_400 }, ctx).exp).toBe(
      T0 + DEFAULT_TTLS.subagent,
    );
  });

  it('a shorter requested lifetime is honoured', () => {
    expect(planChild(appPrincipal(), { kind: 'bearer', ttlSeconds: 60 }, ctx).exp).toBe(T0 + 60);
  });

  it('a child never outlives its parent', () => {
    const parent = { ...appPrincipal(), exp: T0 + 100 };
    const c = planChild(parent, { kind: 'bearer', ttlSeconds: 3600 }, ctx);
    expect(c.exp).toBe(T0 + 100);
    // And down a chain: agent (24 h) from a bearer that has 10 minutes left.
    const bearer = {
      ...asPrincipal('bearer', planChild(appPrincipal(), { kind: 'bearer' }, ctx)),
      exp: T0 + 600,
    };
    expect(planChild(bearer, { kind: 'agent' }, ctx).exp).toBe(T0 + 600);
  });

  it('a parent that has expired (on the fake clock) mints nothing', () => {
    const parent = { ...appPrincipal(), exp: T0 + 100 };
    expect(codeOfSync(() => planChild(parent, { kind: 'bearer' }, { ...ctx, now: T0 + 100 }))).toBe(
      'token_expired',
    );
    expect(
      codeOfSync(() => planChild(parent, { kind: 'bearer' }, { ...ctx, now: T0 + 5000 })),
    ).toBe('token_expired');
    expect(planChild(parent, { kind: 'bearer' }, { ...ctx, now: T0 + 99 }).exp).toBe(T0 + 100);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])(
    'refuses ttl_seconds = %s as a bad request',
    (ttlSeconds) => {
      expect(codeOfSync(() => planChild(appPrincipal(), { kind: 'bearer', ttlSeconds }, ctx))).toBe(
        'invalid_request',
      );
    },
  );

  it('stamps iat and nbf with the clock it is given', () => {
    const c = planChild(appPrincipal(), { kind: 'session' }, { ...ctx, now: T0 + 42 });
    expect(c.iat).toBe(T0 + 42);
    expect(c.nbf).toBe(T0 + 42);
  });
});

describe('identity, ancestry and act', () => {
  it('names the issuer, audience and customer, and a fresh jti encoding the expiry day', () => {
    const app = appPrincipal();
    const a = planChild(app, { kind: 'bearer' }, ctx);
    const b = planChild(app, { kind: 'bearer' }, ctx);
    expect(a).toMatchObject({ iss: ISSUER, aud: AUDIENCE, cid });
    expect(isTokenId(a.jti)).toBe(true);
    expect(expiryDayOfId(a.jti)).toBe(Math.floor(a.exp / 86_400));
    expect(a.jti).not.toBe(b.jti);
  });

  it('records parent_jti and the chain from the app token to the parent', () => {
    const app = appPrincipal();
    const bearer = asPrincipal('bearer', planChild(app, { kind: 'bearer' }, ctx));
    const agent = asPrincipal('agent', planChild(bearer, { kind: 'agent' }, ctx));
    const sub = planChild(agent, { kind: 'subagent' }, ctx);
    expect(bearer.chain).toEqual([app.jti]);
    expect(agent.chain).toEqual([app.jti, bearer.jti]);
    expect(sub.chain).toEqual([app.jti, bearer.jti, agent.jti]);
    expect(sub.parent_jti).toBe(agent.jti);
  });

  it('keeps the subject by default and lets a mint name another', () => {
    const app = appPrincipal();
    expect(planChild(app, { kind: 'bearer' }, ctx).sub).toBe(app.sub);
    expect(planChild(app, { kind: 'session', subject: 'end-user-7' }, ctx).sub).toBe('end-user-7');
  });

  it.each(['', 'has space', 'é', 'x'.repeat(257)])('refuses the subject %j', (subject) => {
    expect(codeOfSync(() => planChild(appPrincipal(), { kind: 'bearer', subject }, ctx))).toBe(
      'invalid_request',
    );
  });

  it('an agent token acts for its parent’s subject: sub stays, act names the agent (RFC 8693)', () => {
    const app = appPrincipal();
    const named = planChild(app, { kind: 'agent', subject: 'planner' }, ctx);
    expect(named.sub).toBe(app.sub);
    expect(named.act).toEqual({ sub: 'planner' });
    const anonymous = planChild(app, { kind: 'agent' }, ctx);
    expect(anonymous.act?.sub).toMatch(/^agent:/);
    expect(anonymous.act?.act).toBeUndefined();
    expect(planChild(app, { kind: 'agent' }, ctx).act?.sub).not.toBe(anonymous.act?.sub);
  });

  it('subagent tokens nest act claims, the current actor outermost', () => {
    const app = appPrincipal();
    const agent = asPrincipal('agent', planChild(app, { kind: 'agent', subject: 'planner' }, ctx));
    const s1 = asPrincipal(
      'subagent',
      planChild(agent, { kind: 'subagent', subject: 'search' }, ctx),
    );
    const s2 = planChild(s1, { kind: 'subagent', subject: 'fetch' }, ctx);
    expect(s1.sub).toBe(app.sub);
    expect(s2.sub).toBe(app.sub);
    expect(s2.act).toEqual({ sub: 'fetch', act: { sub: 'search', act: { sub: 'planner' } } });
  });

  it('puts no act claim on bearer, session or override tokens', () => {
    const app = appPrincipal();
    for (const kind of ['bearer', 'session', 'override'] as const) {
      expect(planChild(app, { kind }, ctx)).not.toHaveProperty('act');
      expect(planChild(app, { kind }, ctx)).not.toHaveProperty('depth');
    }
  });
});
