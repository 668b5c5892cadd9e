/**
 * The master keyring: private signing keys are bound to their customer, their kid and the master
 * key that encrypted them; the previous master key still decrypts during a rotation.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DecryptionError } from '../../src/crypto/aead.js';
import { MasterKeyring, masterKeyId } from '../../src/crypto/master-keys.js';

const secret = Buffer.from('pkcs8 bytes of a private key');
const rowA = { customerId: '11111111-1111-4111-8111-111111111111', kid: 'kid-a' };

function decryptionFails(fn: () => unknown): void {
  expect(fn).toThrow(DecryptionError);
}

describe('masterKeyId', () => {
  it('is 16 hex digits, stable for a key and different between keys', () => {
    const k = randomBytes(32);
    expect(masterKeyId(k)).toMatch(/^[0-9a-f]{16}$/);
    expect(masterKeyId(Buffer.from(k))).toBe(masterKeyId(k));
    expect(masterKeyId(randomBytes(32))).not.toBe(masterKeyId(k));
  });

  it('does not reveal the key (it is not a prefix of the key in hex)', () => {
    const k = randomBytes(32);
    expect(k.toString('hex')).not.toContain(masterKeyId(k));
  });
});

describe('MasterKeyring', () => {
  it('round-trips a secret for the same row, naming the current master key', () => {
    const ring = new MasterKeyring(randomBytes(32));
    const enc = ring.encrypt(secret, rowA);
    expect(enc.masterKeyId).toBe(ring.current.id);
    expect(enc.ciphertext.includes(secret)).toBe(false);
    expect(ring.decrypt(enc, { ...rowA })).toEqual(secret);
  });

  it('refuses a ciphertext moved to another customer', () => {
    const ring = new MasterKeyring(randomBytes(32));
    const enc = ring.encrypt(secret, rowA);
    decryptionFails(() =>
      ring.decrypt(enc, { ...rowA, customerId: '22222222-2222-4222-8222-222222222222' }),
    );
  });

  it('refuses a ciphertext moved to another kid of the same customer', () => {
    const ring = new MasterKeyring(randomBytes(32));
    const enc = ring.encrypt(secret, rowA);
    decryptionFails(() => ring.decrypt(enc, { ...rowA, kid: 'kid-b' }));
  });

  it('keeps the fields apart: customer `a","b` with kid `c` is not customer `a` with kid `b","c`', () => {
    const ring = new MasterKeyring(randomBytes(32));
    const enc = ring.encrypt(secret, { customerId: 'a","b', kid: 'c' });
    decryptionFails(() => ring.decrypt(enc, { customerId: 'a', kid: 'b","c' }));
  });

  it('decrypts with the previous master key during a rotation', () => {
    const oldKey = randomBytes(32);
    const enc = new MasterKeyring(oldKey).encrypt(secret, rowA);
    const rotated = new MasterKeyring(randomBytes(32), oldKey);
    expect(rotated.decrypt(enc, rowA)).toEqual(secret);
    // ... and re-encrypts under the current one.
    const again = rotated.encrypt(rotated.decrypt(enc, rowA), rowA);
    expect(again.masterKeyId).toBe(rotated.current.id);
    expect(new MasterKeyring(rotated.current.key).decrypt(again, rowA)).toEqual(secret);
  });

  it('refuses, naming both ids, a row under a master key it does not hold', () => {
    const enc = new MasterKeyring(randomBytes(32)).encrypt(secret, rowA);
    const ring = new MasterKeyring(randomBytes(32));
    expect(() => ring.decrypt(enc, rowA)).toThrow(enc.masterKeyId);
    expect(() => ring.decrypt(enc, rowA)).toThrow(ring.current.id);
  });

  it('binds the master key id: relabelling a row with another known key id does not open it', () => {
    const current = randomBytes(32);
    const previous = randomBytes(32);
    const ring = new MasterKeyring(current, previous);
    // Encrypted under the current key, but the row claims it was the previous one.
    const enc = ring.encrypt(secret, rowA);
    decryptionFails(() =>
      ring.decrypt({ ...enc, masterKeyId: ring.previous?.id ?? 'missing' }, rowA),
    );
  });
});
