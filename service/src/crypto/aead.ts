/**
 * AES-256-GCM with a fresh random 96-bit nonce per encryption and a full 128-bit tag. Used to
 * store customers' private signing keys; the associated data binds a ciphertext to its row.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
const KEY_BYTES = 32;

/** A ciphertext that does not open under the given key and associated data. */
export class DecryptionError extends Error {
  readonly code = 'decryption_failed';
  constructor(message = 'ciphertext does not authenticate') {
    super(message);
    this.name = 'DecryptionError';
  }
}

export interface Sealed {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

function checkKey(key: Buffer): void {
  if (key.length !== KEY_BYTES) throw new RangeError(`AES-256-GCM needs a ${KEY_BYTES}-byte key`);
}

/** Encrypts `plaintext` under `key`, authenticating `aad` as well. */
export function seal(key: Buffer, plaintext: Buffer, aad: Buffer): Sealed {
  checkKey(key);
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { nonce, ciphertext, tag: cipher.getAuthTag() };
}

/**
 * Decrypts and authenticates. Refuses nonces other than 96 bits and tags shorter than 128 bits
 * (Node would otherwise accept a truncated tag, which makes forgery far cheaper).
 */
export function open(key: Buffer, sealed: Sealed, aad: Buffer): Buffer {
  checkKey(key);
  if (sealed.nonce.length !== NONCE_BYTES) throw new DecryptionError('nonce must be 96 bits');
  if (sealed.tag.length !== TAG_BYTES) throw new DecryptionError('tag must be 128 bits');
  const decipher = createDecipheriv('aes-256-gcm', key, sealed.nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch (cause) {
    throw Object.assign(new DecryptionError(), { cause });
  }
}
