/**
 * Raw ES256: 64-byte r || s signatures only, and the malformed signatures an attacker would try.
 */
import { createSign, generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  exportPrivateKey,
  generateEs256KeyPair,
  importPrivateKey,
  importPublicJwk,
  isLowS,
  publicJwk,
  signEs256,
  verifyEs256,
} from '../../src/crypto/es256.js';
import { bytes32, highSTwin, P256_N } from './helpers.js';

const { privateKey, publicKey } = generateEs256KeyPair();
const data = 'header.payload';
const good = signEs256(privateKey, data);
const r = good.subarray(0, 32);
const s = good.subarray(32);

describe('signEs256 / verifyEs256', () => {
  it('produces 64-byte signatures that verify for the same data and key only', () => {
    for (let i = 0; i < 20; i++) expect(signEs256(privateKey, `${data}${i}`)).toHaveLength(64);
    expect(verifyEs256(publicKey, data, good)).toBe(true);
    expect(verifyEs256(publicKey, Buffer.from(data), good)).toBe(true);
    expect(verifyEs256(publicKey, `${data}x`, good)).toBe(false);
    expect(verifyEs256(generateEs256KeyPair().publicKey, data, good)).toBe(false);
  });

  it('interoperates with a plain ECDSA P-256/SHA-256 verifier (r || s big-endian)', () => {
    const jose = sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'ieee-p1363' });
    expect(verifyEs256(publicKey, data, jose)).toBe(true);
  });

  it.each([
    ['r = 0', Buffer.concat([Buffer.alloc(32), s])],
    ['s = 0', Buffer.concat([r, Buffer.alloc(32)])],
    ['r = s = 0', Buffer.alloc(64)],
    ['s = n', Buffer.concat([r, bytes32(P256_N)])],
    ['s = n + 1 (≡ 1 mod n, out of range)', Buffer.concat([r, bytes32(P256_N + 1n)])],
    ['r = n', Buffer.concat([bytes32(P256_N), s])],
    ['s = 2^256 − 1', Buffer.concat([r, Buffer.alloc(32, 0xff)])],
    ['r and s swapped', Buffer.concat([s, r])],
  ])('refuses a 64-byte signature with %s', (_what, signature) => {
    expect(signature).toHaveLength(64);
    expect(verifyEs256(publicKey, data, signature)).toBe(false);
  });

  it.each([
    ['truncated to 63 bytes', good.subarray(0, 63)],
    ['with a byte appended', Buffer.concat([good, Buffer.alloc(1)])],
    ['empty', Buffer.alloc(0)],
  ])('refuses the good signature %s', (_what, signature) => {
    expect(verifyEs256(publicKey, data, signature)).toBe(false);
  });

  it('refuses a DER-encoded signature of the right data (JOSE wants raw r || s)', () => {
    const der = sign('sha256', Buffer.from(data), { key: privateKey, dsaEncoding: 'der' });
    expect(der.length).not.toBe(64);
    expect(verifyEs256(publicKey, data, der)).toBe(false);
    const legacy = createSign('sha256').update(data).sign(privateKey);
    expect(verifyEs256(publicKey, data, legacy)).toBe(false);
  });

  it('signs with a low s only (s ≤ n/2), so each token has one spelling', () => {
    for (let i = 0; i < 64; i++) {
      const sig = signEs256(privateKey, `${data}${i}`);
      expect(isLowS(sig)).toBe(true);
      expect(BigInt(`0x${sig.subarray(32).toString('hex')}`) <= P256_N / 2n).toBe(true);
      expect(verifyEs256(publicKey, `${data}${i}`, sig)).toBe(true);
    }
  });

  it('draws the line at s = n/2 exactly', () => {
    const withS = (s: bigint) =>
      Buffer.concat([good.subarray(0, 32), Buffer.from(s.toString(16).padStart(64, '0'), 'hex')]);
    const half = P256_N / 2n;
    expect(isLowS(withS(half))).toBe(true);
    expect(isLowS(withS(half + 1n))).toBe(false);
    expect(isLowS(withS(1n))).toBe(true);
    expect(isLowS(withS(P256_N - 1n))).toBe(false);
    expect(isLowS(withS(half).subarray(0, 63))).toBe(false);
  });

  it('as a primitive, ACCEPTS the high-s twin (r, n − s): ECDSA is malleable', () => {
    // So the token layer must refuse it (jws.test.ts), and revocation must key on jti, never on
    // token bytes.
    const twin = highSTwin(good);
    expect(twin.equals(good)).toBe(false);
    expect(verifyEs256(publicKey, data, twin)).toBe(true);
    expect(highSTwin(twin).equals(good)).toBe(true);
    expect(isLowS(twin)).toBe(false);
  });
});

describe('key import and export', () => {
  it('round-trips the private key through PKCS#8, still signing for the same public key', () => {
    const back = importPrivateKey(exportPrivateKey(privateKey));
    expect(verifyEs256(publicKey, data, signEs256(back, data))).toBe(true);
  });

  it('publishes a JWK with only the JWKS members, which imports back to the same key', () => {
    const jwk = publicJwk(publicKey, 'kid-1');
    expect(Object.keys(jwk).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig', kid: 'kid-1' });
    expect(jwk).not.toHaveProperty('d');
    expect(verifyEs256(importPublicJwk(jwk), data, good)).toBe(true);
  });

  it('refuses keys on other curves or of other types', () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const ed = generateKeyPairSync('ed25519');
    expect(() => importPrivateKey(exportPrivateKey(p384.privateKey))).toThrow(TypeError);
    expect(() => importPrivateKey(exportPrivateKey(ed.privateKey))).toThrow(TypeError);
    expect(() => publicJwk(p384.publicKey, 'k')).toThrow(TypeError);
  });
});
