/**
 * Regression: a NUL byte reached Postgres, which refuses it in text, and the request answered 500
 * (a token whose header `kid` held "\u0000", and an app token `name` with one). Found by the fault
 * suite's abuse scenario. Every such input must be a 4xx, and a forged token an inactive one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../../support/fixtures.js';

let s: TestStack;
beforeAll(async () => {
  s = await createTestStack();
});
afterAll(async () => s?.close());

function withHeader(token: string, patch: Record<string, unknown>): string {
  const [h, p, sig] = token.split('.') as [string, string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  return `${Buffer.from(JSON.stringify({ ...header, ...patch })).toString('base64url')}.${p}.${sig}`;
}

describe('NUL bytes and control characters in input', () => {
  it('a kid with a NUL byte verifies inactive and is refused as a credential, never a 500', async () => {
    const { token: app } = await s.appToken();
    const minted = await s.mint(app, { kind: 'bearer' });
    const kid = JSON.parse(
      Buffer.from(minted.token.split('.')[0] as string, 'base64url').toString(),
    ).kid as string;
    for (const bad of [`${kid}\u0000`, '\u0000', `k\u0000'--`, `${kid} `, 'kid\u00e9']) {
      const forged = withHeader(minted.token, { kid: bad });
      const verify = await s.app.inject({
        method: 'POST',
        url: '/v1/tokens/verify',
        payload: { token: forged },
      });
      expect(verify.statusCode).toBe(200);
      expect(verify.json()).toEqual({ active: false });
      const revoke = await s.app.inject({
        method: 'POST',
        url: '/v1/tokens/revoke',
        headers: { authorization: `Bearer ${app}` },
        payload: { token: forged },
      });
      expect(revoke.statusCode).toBe(400);
    }
  });

  it('an app token name with a NUL byte or a control character is a 400', async () => {
    const id = await s.customer();
    for (const name of ['a\u0000b', 'line\nbreak', '\u007f']) {
      const res = await s.app.inject({
        method: 'POST',
        url: `/v1/customers/${id}/app-tokens`,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        payload: { name },
      });
      expect(res.statusCode).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    const ok = await s.app.inject({
      method: 'POST',
      url: `/v1/customers/${id}/app-tokens`,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
      payload: { name: 'CI deploy key – ünïcode is fine' },
    });
    expect(ok.statusCode).toBe(201);
  });
});
