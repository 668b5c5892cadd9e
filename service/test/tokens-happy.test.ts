import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStack, type TestStack } from '../../test/support/fixtures.js';

let s: TestStack;
beforeAll(async () => {
  s = await createTestStack();
});
afterAll(async () => s?.close());

describe('happy paths', () => {
  it('GET /health answers ok when Postgres and Redis answer', async () => {
    const res = await s.app.inject({ method: 'GET', url: '/health' });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'ok', postgres: 'ok', redis: 'ok' });
  });

  it('an app token mints every kind it may, and each verifies with its claims', async () => {
    const { token: app, customerId } = await s.appToken();
    for (const kind of ['bearer', 'agent', 'session', 'override'] as const) {
      const minted = await s.mint(app, { kind, scopes: ['read', 'write'] });
      const v = await s.verify(minted.token);
      expect(v).toMatchObject({
        active: true,
        kind,
        cid: customerId,
        jti: minted.jti,
        scopes: ['read', 'write'],
      });
      const [h] = minted.token.split('.');
      expect(JSON.parse(Buffer.from(h as string, 'base64url').toString())).toMatchObject({
        alg: 'ES256',
        typ: `${kind}+jwt`,
      });
    }
  });

  it('a token verified over and over gets the same answer each time, until it is revoked', async () => {
    const { token: app } = await s.appToken();
    const agent = await s.mint(app, { kind: 'agent', subject: 'planner', scopes: ['read'] });
    const verify = () =>
      s.app.inject({ method: 'POST', url: '/v1/tokens/verify', payload: { token: agent.token } });
    // First answer, second (kept from then on), third and fourth (the kept one).
    const bodies = [];
    for (let i = 0; i < 4; i++) bodies.push((await verify()).body);
    expect(new Set(bodies).size).toBe(1);
    expect(JSON.parse(bodies[0]!)).toMatchObject({ active: true, jti: agent.jti, kind: 'agent' });
    await s.revoke(app, agent.token);
    expect((await verify()).json()).toEqual({ active: false });
  });

  it('agent → subagent chains carry act and narrowing scopes', async () => {
    const { token: app } = await s.appToken();
    const agent = await s.mint(app, { kind: 'agent', scopes: ['a', 'b', 'c'], subject: 'planner' });
    const sub = await s.mint(agent.token, {
      kind: 'subagent',
      scopes: ['a', 'b'],
      subject: 'worker',
    });
    const v = await s.verify(sub.token);
    expect(v).toMatchObject({
      active: true,
      kind: 'subagent',
      scopes: ['a', 'b'],
      act: { sub: 'worker', act: { sub: 'planner' } },
    });
    expect(v.parent_jti).toBe(agent.jti);
  });

  it('a verify answer has the members its kind has, and no others', async () => {
    const { token: app } = await s.appToken();
    const agent = await s.mint(app, { kind: 'agent', scopes: ['a'], subject: 'planner' });
    const sub = await s.mint(agent.token, { kind: 'subagent', scopes: ['a'], subject: 'worker' });
    const keys = async (token: string) => {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/tokens/verify',
        payload: { token },
      });
      expect(res.body).not.toMatch(/null|undefined/);
      return Object.keys(res.json() as object);
    };
    const every = ['active', 'kind', 'cid', 'customer_id', 'sub', 'jti', 'scopes', 'scope'];
    const signed = [...every, 'exp', 'iat', 'iss', 'aud', 'parent_jti', 'chain', 'act', 'kid'];
    expect(await keys(app)).toEqual([...every, 'exp', 'iat', 'iss', 'aud']);
    expect(await keys(agent.token)).toEqual(signed);
    expect(await keys(sub.token)).toEqual([...signed, 'delegation_depth']);
  });

  it('revoking a parent revokes its children', async () => {
    const { token: app } = await s.appToken();
    const bearer = await s.mint(app, { kind: 'bearer' });
    const agent = await s.mint(bearer.token, { kind: 'agent' });
    await s.revoke(app, bearer.token);
    expect((await s.verify(bearer.token)).active).toBe(false);
    expect((await s.verify(agent.token)).active).toBe(false);
  });

  it('the JWKS lists the key that signed a token', async () => {
    const { token: app } = await s.appToken();
    const minted = await s.mint(app, { kind: 'session' });
    const kid = JSON.parse(
      Buffer.from(minted.token.split('.')[0] as string, 'base64url').toString(),
    ).kid;
    const res = await s.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(res.json<{ keys: { kid: string }[] }>().keys.map((k) => k.kid)).toContain(kid);
  });
});
