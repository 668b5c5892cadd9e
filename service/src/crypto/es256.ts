/**
 * ES256 (ECDSA P-256 with SHA-256) straight on `node:crypto`: signatures in the JOSE form, the
 * 64-byte big-endian r || s. No library in between, because verification is the service's hot
 * path and the checks around it (header, claims) are ours anyway.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  sign,
  verify,
  type KeyObject,
} from 'node:crypto';

export const SIGNATURE_BYTES = 64;

/** The order n of the P-256 group, and n / 2: the bound of a canonical ("low") s. */
export const P256_ORDER = BigInt(
  '0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551',
);
const HALF_ORDER = P256_ORDER >> 1n;
/** n / 2 as 32 big-endian bytes: s compares against it as bytes, without a BigInt per token. */
const HALF_ORDER_BYTES = Buffer.from(HALF_ORDER.toString(16).padStart(64, '0'), 'hex');

function sOf(signature: Buffer): bigint {
  return BigInt(`0x${signature.subarray(32, 64).toString('hex')}`);
}

/**
 * Whether a 64-byte r || s signature has s <= n / 2. ECDSA is malleable: (r, n - s) verifies
 * whenever (r, s) does, so every signature has a second spelling. We sign only the low one, and
 * the token layer accepts only the low one, so each token has exactly one valid string.
 */
export function isLowS(signature: Buffer): boolean {
  return signature.length === SIGNATURE_BYTES && HALF_ORDER_BYTES.compare(signature, 32, 64) >= 0;
}

export interface Es256KeyPair {
  privateKey: KeyObject;
  publicKey: KeyObject;
}

/** A fresh P-256 key pair. */
export function generateEs256KeyPair(): Es256KeyPair {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

/** Signs `data`; the result is always exactly 64 bytes, with a low s (see {@link isLowS}). */
export function signEs256(privateKey: KeyObject, data: Buffer | string): Buffer {
  const signature = sign('sha256', typeof data === 'string' ? Buffer.from(data) : data, {
    key: privateKey,
    dsaEncoding: 'ieee-p1363',
  });
  if (isLowS(signature)) return signature;
  const low = (P256_ORDER - sOf(signature)).toString(16).padStart(64, '0');
  return Buffer.concat([signature.subarray(0, 32), Buffer.from(low, 'hex')]);
}

/**
 * Verifies a 64-byte r || s signature; any other length is refused without calling OpenSSL. This
 * is plain ECDSA and accepts either s; token decoding refuses the high one (jws.ts).
 */
export function verifyEs256(
  publicKey: KeyObject,
  data: Buffer | string,
  signature: Buffer,
): boolean {
  if (signature.length !== SIGNATURE_BYTES) return false;
  try {
    return verify(
      'sha256',
      typeof data === 'string' ? Buffer.from(data) : data,
      { key: publicKey, dsaEncoding: 'ieee-p1363' },
      signature,
    );
  } catch {
    return false;
  }
}

/** The private key as PKCS#8 DER, for encryption at rest. */
export function exportPrivateKey(key: KeyObject): Buffer {
  return key.export({ format: 'der', type: 'pkcs8' });
}

export function importPrivateKey(der: Buffer): KeyObject {
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  assertP256(key);
  return key;
}

/** The public key as a JWK with only the members a JWKS needs. */
export function publicJwk(key: KeyObject, kid: string): PublicJwk {
  const jwk = key.export({ format: 'jwk' });
  if (jwk.kty !== 'EC' || jwk.crv !== 'P-256' || !jwk.x || !jwk.y)
    throw new TypeError('not a P-256 key');
  return { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y, kid, alg: 'ES256', use: 'sig' };
}

export function importPublicJwk(jwk: { x: string; y: string }): KeyObject {
  const key = createPublicKey({
    key: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
    format: 'jwk',
  });
  assertP256(key);
  return key;
}

export interface PublicJwk {
  kty: 'EC';
  crv: 'P-256';
  x: string;
  y: string;
  kid: string;
  alg: 'ES256';
  use: 'sig';
}

function assertP256(key: KeyObject): void {
  if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new TypeError('not a P-256 key');
  }
}
