/**
 * App tokens are opaque: `quint_app_` + 43 base62 characters (256 random bits) + a 6-character
 * CRC-32 checksum, so a secret scanner can recognise a leaked one offline and we can refuse a
 * mistyped one without touching the database. Only the SHA-256 of the token is ever stored.
 */
import { createHash, randomBytes } from 'node:crypto';

export const APP_TOKEN_PREFIX = 'quint_app_';
const BODY_CHARS = 43;
const CHECKSUM_CHARS = 6;
const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const SHAPE = new RegExp(`^${APP_TOKEN_PREFIX}[0-9A-Za-z]{${BODY_CHARS + CHECKSUM_CHARS}}$`);

function base62(n: bigint, width: number): string {
  let out = '';
  for (let i = 0; i < width; i++) {
    out = ALPHABET[Number(n % 62n)] + out;
    n /= 62n;
  }
  return out;
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** CRC-32 (IEEE), as used by zip and by GitHub's token checksums. */
export function crc32(text: string): number {
  let c = 0xffffffff;
  for (const byte of Buffer.from(text)) c = (CRC_TABLE[(c ^ byte) & 0xff] as number) ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function checksum(body: string): string {
  return base62(BigInt(crc32(body)), CHECKSUM_CHARS);
}

/** A new app token. */
export function generateAppToken(): string {
  const body = base62(BigInt(`0x${randomBytes(32).toString('hex')}`), BODY_CHARS);
  return `${APP_TOKEN_PREFIX}${body}${checksum(APP_TOKEN_PREFIX + body)}`;
}

/** Whether `token` looks like an app token (prefix and shape), whether or not its checksum is right. */
export function looksLikeAppToken(token: string): boolean {
  return token.startsWith(APP_TOKEN_PREFIX);
}

/** Whether `token` has an app token's shape and a correct checksum. */
export function hasValidAppTokenChecksum(token: string): boolean {
  if (!SHAPE.test(token)) return false;
  const body = token.slice(0, -CHECKSUM_CHARS);
  return checksum(body) === token.slice(-CHECKSUM_CHARS);
}

/** What the database stores in place of the token. */
export function hashAppToken(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
