/**
 * Token ids (`jti`) carry the day their token expires, so the revocation filter can keep one
 * bloom filter per expiry day and drop each day's filter once every token in it has expired.
 * The id is otherwise 128 random bits.
 */
import { randomBytes } from 'node:crypto';

const DAY = 86_400;

/** A fresh token id for a token expiring at `exp` (seconds since the epoch). */
export function newTokenId(exp: number): string {
  return `${expiryDay(exp).toString(36)}.${randomBytes(16).toString('base64url')}`;
}

/** The day (since the epoch) on which a token expiring at `exp` expires. */
export function expiryDay(exp: number): number {
  return Math.floor(exp / DAY);
}

const ID = /^([0-9a-z]{1,8})\.[A-Za-z0-9_-]{22}$/;

/** The expiry day encoded in a token id, or undefined if the id is not one of ours. */
export function expiryDayOfId(id: string): number | undefined {
  const m = ID.exec(id);
  return m?.[1] === undefined ? undefined : parseInt(m[1], 36);
}

/** Whether `id` has the shape of one of our token ids. */
export function isTokenId(id: unknown): id is string {
  return typeof id === 'string' && ID.test(id);
}
