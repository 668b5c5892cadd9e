/**
 * The master keyring: the current AUTH_MASTER_KEY, which encrypts, and optionally the previous
 * one, which still decrypts while `npm run rotate-master-key` re-encrypts every row. Each key is
 * known by a short id derived from it, stored beside every ciphertext and bound into its
 * associated data.
 */
import { createHash } from 'node:crypto';
import { DecryptionError, open, seal, type Sealed } from './aead.js';

export interface MasterKey {
  /** First 16 hex digits of SHA-256 over a domain-separated copy of the key: safe to store and log. */
  readonly id: string;
  readonly key: Buffer;
}

/** Derives a master key's public id. */
export function masterKeyId(key: Buffer): string {
  return createHash('sha256')
    .update('quint-auth/master-key-id/v1\0')
    .update(key)
    .digest('hex')
    .slice(0, 16);
}

export function masterKey(key: Buffer): MasterKey {
  return Object.freeze({ id: masterKeyId(key), key });
}

/** What a private signing key's ciphertext is bound to: moving it to another row makes it unreadable. */
export interface SigningKeyBinding {
  customerId: string;
  kid: string;
}

function aad(binding: SigningKeyBinding, masterKeyIdValue: string): Buffer {
  return Buffer.from(
    JSON.stringify([
      'quint-auth/signing-key/v1',
      binding.customerId,
      binding.kid,
      masterKeyIdValue,
    ]),
  );
}

export interface EncryptedSecret extends Sealed {
  masterKeyId: string;
}

/** Current and previous master keys. */
export class MasterKeyring {
  readonly current: MasterKey;
  readonly previous: MasterKey | undefined;

  constructor(current: Buffer, previous?: Buffer) {
    this.current = masterKey(current);
    this.previous = previous ? masterKey(previous) : undefined;
  }

  /** Encrypts a signing key's private part under the current master key. */
  encrypt(plaintext: Buffer, binding: SigningKeyBinding): EncryptedSecret {
    return {
      ...seal(this.current.key, plaintext, aad(binding, this.current.id)),
      masterKeyId: this.current.id,
    };
  }

  /** Decrypts with whichever known master key the row names; throws {@link DecryptionError} otherwise. */
  decrypt(secret: EncryptedSecret, binding: SigningKeyBinding): Buffer {
    const key = [this.current, this.previous].find((k) => k?.id === secret.masterKeyId);
    if (!key) {
      throw new DecryptionError(
        `encrypted under master key ${secret.masterKeyId}, which is neither AUTH_MASTER_KEY (${this.current.id})` +
          (this.previous ? ` nor AUTH_MASTER_KEY_PREVIOUS (${this.previous.id})` : ''),
      );
    }
    return open(key.key, secret, aad(binding, key.id));
  }
}
