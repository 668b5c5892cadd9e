/**
 * The cases we construct ourselves, beside the Wycheproof vectors: degenerate and out-of-range
 * ECDSA values, the high-s twin, DER and truncated encodings, and AES-GCM with short tags and
 * odd nonces. Each is refused where it must be.
 */
import { describe, expect, it } from 'vitest';
import { DecryptionError, open, seal } from '../../service/src/crypto/aead.js';
import {
  generateEs256KeyPair,
  P256_ORDER,
  signEs256,
  verifyEs256,
} from '../../service/src/crypto/es256.js';
import { decodeJws, encodeJws } from '../../service/src/tokens/jws.js';
import { highSTwin, toDer } from '../faults/forgery.js';

const { privateKey, publicKey } = generateEs256KeyPair();
const data = Buffer.from('header.payload');
const good = signEs256(privateKey, data);
const r = good.subarray(0, 32);
const s = good.subarray(32);
const int32 = (n: bigint) => Buffer.from(n.toString(16).padStart(64, '0'), 'hex');

describe('ES256 signatures we construct', () => {
  it('accepts the genuine signature', () => {
    expect(verifyEs256(publicKey, data, good)).toBe(true);
  });

  it.each([
    ['r = 0', Buffer.concat([Buffer.alloc(32), s])],
    ['s = 0', Buffer.concat([r, Buffer.alloc(32)])],
    ['r = s = 0', Buffer.alloc(64)],
    ['r = n', Buffer.concat([int32(P256_ORDER), s])],
    ['s = n', Buffer.concat([r, int32(P256_ORDER)])],
    [
      's = n + s (mod 2^256)',
      Buffer.concat([r, int32(P256_ORDER + BigInt(`0x${s.toString('hex')}`)).subarray(-32)]),
    ],
    [
      'r + n',
      Buffer.concat([int32((P256_ORDER + BigInt(`0x${r.toString('hex')}`)) % 2n ** 256n), s]),
    ],
    ['all ones', Buffer.alloc(64, 0xff)],
    ['DER encoding', toDer(good)],
    ['truncated to 63 bytes', good.subarray(0, 63)],
    ['one byte appended', Buffer.concat([good, Buffer.alloc(1)])],
    ['empty', Buffer.alloc(0)],
    ['r and s swapped', Buffer.concat([s, r])],
  ])('refuses %s', (_name, sig) => {
    expect(verifyEs256(publicKey, data, sig)).toBe(false);
  });

  it('the high-s twin is valid ECDSA, but a token carrying it is refused', () => {
    const token = encodeJws({ alg: 'ES256', typ: 'bearer+jwt', kid: 'k_x' }, { a: 1 }, privateKey);
    const [h, p, sig] = token.split('.') as [string, string, string];
    const twin = highSTwin(Buffer.from(sig, 'base64url'));
    expect(verifyEs256(publicKey, `${h}.${p}`, twin)).toBe(true);
    expect(() => decodeJws(token, 8192)).not.toThrow();
    expect(() => decodeJws(`${h}.${p}.${twin.toString('base64url')}`, 8192)).toThrow(/low-s/);
    expect(() =>
      decodeJws(`${h}.${p}.${toDer(Buffer.from(sig, 'base64url')).toString('base64url')}`, 8192),
    ).toThrow();
  });
});

describe('AES-256-GCM inputs we construct', () => {
  const key = Buffer.alloc(32, 9);
  const aad = Buffer.from('bound');
  const sealed = seal(key, Buffer.from('private key bytes'), aad);

  it('opens what it sealed', () => {
    expect(open(key, sealed, aad).toString()).toBe('private key bytes');
  });

  it.each([
    ['a 4-byte tag', { ...sealed, tag: sealed.tag.subarray(0, 4) }],
    ['a 12-byte tag', { ...sealed, tag: sealed.tag.subarray(0, 12) }],
    ['an empty tag', { ...sealed, tag: Buffer.alloc(0) }],
    ['an 8-byte nonce', { ...sealed, nonce: sealed.nonce.subarray(0, 8) }],
    ['a 16-byte nonce', { ...sealed, nonce: Buffer.concat([sealed.nonce, Buffer.alloc(4)]) }],
    [
      'a flipped tag bit',
      { ...sealed, tag: Buffer.from(sealed.tag.map((b, i) => (i === 0 ? b ^ 1 : b))) },
    ],
    [
      'a flipped ciphertext bit',
      {
        ...sealed,
        ciphertext: Buffer.from(sealed.ciphertext.map((b, i) => (i === 0 ? b ^ 1 : b))),
      },
    ],
  ])('refuses %s', (_name, bad) => {
    expect(() => open(key, bad, aad)).toThrow(DecryptionError);
  });

  it('refuses other associated data and another key', () => {
    expect(() => open(key, sealed, Buffer.from('moved'))).toThrow(DecryptionError);
    expect(() => open(Buffer.alloc(32, 8), sealed, aad)).toThrow(DecryptionError);
  });
});
