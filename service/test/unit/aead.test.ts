/**
 * AES-256-GCM as the private signing keys are stored: fresh 96-bit nonce, full 128-bit tag,
 * associated data authenticated.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  DecryptionError,
  NONCE_BYTES,
  open,
  seal,
  TAG_BYTES,
  type Sealed,
} from '../../src/crypto/aead.js';

const key = randomBytes(32);
const aad = Buffer.from('row binding');
const plaintext = Buffer.from('a private key, say');

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecryptionError) return e.code;
    throw e;
  }
  throw new Error('expected a DecryptionError');
}

describe('seal / open', () => {
  it('round-trips, with a 96-bit nonce and a 128-bit tag', () => {
    const sealed = seal(key, plaintext, aad);
    expect(sealed.nonce).toHaveLength(NONCE_BYTES);
    expect(sealed.tag).toHaveLength(TAG_BYTES);
    expect(NONCE_BYTES).toBe(12);
    expect(TAG_BYTES).toBe(16);
    expect(sealed.ciphertext.equals(plaintext)).toBe(false);
    expect(open(key, sealed, aad)).toEqual(plaintext);
  });

  it('uses a fresh nonce for every encryption of the same plaintext', () => {
    const nonces = new Set(
      Array.from({ length: 50 }, () => seal(key, plaintext, aad).nonce.toString('hex')),
    );
    expect(nonces.size).toBe(50);
  });

  it('is real AES-256-GCM (interoperates with a plain node:crypto decryption)', () => {
    const nonce = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    expect(open(key, { nonce, ciphertext, tag: cipher.getAuthTag() }, aad)).toEqual(plaintext);
  });

  it('refuses the wrong key, other associated data, and any flipped bit', () => {
    const sealed = seal(key, plaintext, aad);
    const flip = (b: Buffer, i: number) => {
      const c = Buffer.from(b);
      c[i] = (c[i] as number) ^ 1;
      return c;
    };
    expect(refusal(() => open(randomBytes(32), sealed, aad))).toBe('decryption_failed');
    expect(refusal(() => open(key, sealed, Buffer.from('row bindinG')))).toBe('decryption_failed');
    expect(
      refusal(() => open(key, { ...sealed, ciphertext: flip(sealed.ciphertext, 0) }, aad)),
    ).toBe('decryption_failed');
    expect(refusal(() => open(key, { ...sealed, tag: flip(sealed.tag, 15) }, aad))).toBe(
      'decryption_failed',
    );
    expect(refusal(() => open(key, { ...sealed, nonce: flip(sealed.nonce, 0) }, aad))).toBe(
      'decryption_failed',
    );
  });

  it.each([4, 8, 12, 15])(
    'refuses a genuine tag truncated to %i bytes (GCM would otherwise accept it)',
    (len) => {
      const sealed = seal(key, plaintext, aad);
      const truncated: Sealed = { ...sealed, tag: sealed.tag.subarray(0, len) };
      expect(refusal(() => open(key, truncated, aad))).toBe('decryption_failed');
    },
  );

  it('refuses a tag longer than 16 bytes', () => {
    const sealed = seal(key, plaintext, aad);
    const longer = { ...sealed, tag: Buffer.concat([sealed.tag, Buffer.alloc(1)]) };
    expect(refusal(() => open(key, longer, aad))).toBe('decryption_failed');
  });

  it.each([8, 11, 13, 16])('refuses a %i-byte nonce', (len) => {
    // A valid encryption under a nonce of that length, so only the length is wrong.
    const nonce = randomBytes(len);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    cipher.setAAD(aad);
    const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    expect(refusal(() => open(key, { nonce, ciphertext, tag: cipher.getAuthTag() }, aad))).toBe(
      'decryption_failed',
    );
  });

  it.each([16, 31, 33])('refuses a %i-byte key in both directions', (len) => {
    expect(() => seal(randomBytes(len), plaintext, aad)).toThrow(RangeError);
    expect(() => open(randomBytes(len), seal(key, plaintext, aad), aad)).toThrow(RangeError);
  });
});
