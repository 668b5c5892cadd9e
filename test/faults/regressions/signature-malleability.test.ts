/**
 * Regression: the high-s twin (r, n − s) of a token's signature was accepted, so every token had
 * a second valid spelling that anything keyed on token strings (caches, deny lists, logs) would
 * treat as a different token. Found by the fault suite's abuse scenario. We now sign with a low s
 * only and the token layer refuses a high s; the ECDSA primitive itself stays plain ECDSA (the
 * Wycheproof conformance test needs it to accept valid high-s signatures).
 */
import { createPublicKey } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  generateEs256KeyPair,
  isLowS,
  P256_ORDER,
  signEs256,
  verifyEs256,
} from '../../../service/src/crypto/es256.js';
import { decodeJws } from '../../../service/src/tokens/jws.js';
import { createTestStack, type TestStack } from '../../support/fixtures.js';
import { highSTwin } from '../forgery.js';

let s: TestStack;
beforeAll(async () => {
  s = await createTestStack();
});
afterAll(async () => s?.close());

describe('signature malleability', () => {
  it('signEs256 always produces a low s that verifies', () => {
    const { privateKey, publicKey } = generateEs256KeyPair();
    for (let i = 0; i < 200; i++) {
      const sig = signEs256(privateKey, `message ${i}`);
      expect(sig.length).toBe(64);
      expect(isLowS(sig)).toBe(true);
      expect(verifyEs256(publicKey, `message ${i}`, sig)).toBe(true);
      // the primitive still accepts the twin: it is a valid ECDSA signature
      expect(isLowS(highSTwin(sig))).toBe(false);
      expect(verifyEs256(publicKey, `message ${i}`, highSTwin(sig))).toBe(true);
    }
    expect(P256_ORDER.toString(16)).toBe(
      'ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
    );
  });

  it('the high-s twin of a minted token is refused everywhere; the token itself is not', async () => {
    const { token: app } = await s.appToken();
    for (let i = 0; i < 8; i++) {
      const minted = await s.mint(app, { kind: 'bearer' });
      const [h, p, sig] = minted.token.split('.') as [string, string, string];
      const twin = `${h}.${p}.${highSTwin(Buffer.from(sig, 'base64url')).toString('base64url')}`;
      expect(() => decodeJws(twin, 8192)).toThrow(/low-s/);
      expect((await s.verify(minted.token)).active).toBe(true);
      expect(await s.verify(twin)).toEqual({ active: false });
      const asParent = await s.app.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { authorization: `Bearer ${twin}` },
        payload: { kind: 'session' },
      });
      expect(asParent.statusCode).toBe(401);
    }
  });

  it('publishes keys that verify what it signs', async () => {
    const { token: app } = await s.appToken();
    const minted = await s.mint(app, { kind: 'session' });
    const [h, p, sig] = minted.token.split('.') as [string, string, string];
    const kid = JSON.parse(Buffer.from(h, 'base64url').toString()).kid as string;
    const jwks = await s.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    const jwk = jwks
      .json<{ keys: { kid: string; x: string; y: string }[] }>()
      .keys.find((k) => k.kid === kid);
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: jwk?.x, y: jwk?.y },
      format: 'jwk',
    });
    expect(verifyEs256(key, `${h}.${p}`, Buffer.from(sig, 'base64url'))).toBe(true);
  });
});
