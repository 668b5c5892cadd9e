/**
 * Regression: a signed token with `nbf` in the past and `iat` an hour in the future was accepted,
 * because only `nbf ?? iat` was compared with the clock. Found by the fault suite's abuse
 * scenario, which signs bad claims with the customer's real key to reach the checks behind the
 * signature.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeJws } from '../../../service/src/tokens/jws.js';
import { createTestStack, type TestStack } from '../../support/fixtures.js';

let s: TestStack;
beforeAll(async () => {
  s = await createTestStack();
});
afterAll(async () => s?.close());

async function resigned(patch: Record<string, unknown>) {
  const { token: app, customerId } = await s.appToken();
  const minted = await s.mint(app, { kind: 'bearer' });
  const [h, p] = minted.token.split('.') as [string, string];
  const header = JSON.parse(Buffer.from(h, 'base64url').toString());
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
  const key = await s.core.keys.signingKey(customerId);
  return encodeJws(header, { ...claims, ...patch }, key.privateKey);
}

describe('issued-at in the future', () => {
  const now = () => Math.floor(Date.now() / 1000);

  it('is refused even when nbf is in the past', async () => {
    const t = now();
    const token = await resigned({ nbf: t - 60, iat: t + 3600, exp: t + 7200 });
    expect(await s.verify(token)).toEqual({ active: false });
  });

  it('is refused without nbf', async () => {
    const t = now();
    const token = await resigned({ nbf: undefined, iat: t + 3600, exp: t + 7200 });
    expect(await s.verify(token)).toEqual({ active: false });
  });

  it('within the clock skew it is accepted, as is the re-signed token unchanged', async () => {
    const t = now();
    expect((await s.verify(await resigned({ iat: t + 10 }))).active).toBe(true);
    expect((await s.verify(await resigned({}))).active).toBe(true);
  });
});
