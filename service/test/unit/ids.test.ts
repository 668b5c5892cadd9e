/**
 * Token ids carry their expiry day (so per-day revocation filters can be dropped) and 128 random bits.
 */
import { describe, expect, it } from 'vitest';
import { expiryDay, expiryDayOfId, isTokenId, newTokenId } from '../../src/tokens/ids.js';
import { T0 } from './helpers.js';

describe('token ids', () => {
  it.each([0, 1, 86_399, 86_400, T0, T0 + 123_456, 4_102_444_800])(
    'encode the expiry day of exp = %i',
    (exp) => {
      const id = newTokenId(exp);
      expect(isTokenId(id)).toBe(true);
      expect(expiryDayOfId(id)).toBe(Math.floor(exp / 86_400));
      expect(expiryDay(exp)).toBe(Math.floor(exp / 86_400));
    },
  );

  it('put the last second of a day and the first of the next in different days', () => {
    expect(expiryDayOfId(newTokenId(86_400 * 20_000 - 1))).toBe(19_999);
    expect(expiryDayOfId(newTokenId(86_400 * 20_000))).toBe(20_000);
  });

  it('are unique and carry 128 random bits after the day', () => {
    const ids = Array.from({ length: 1000 }, () => newTokenId(T0));
    expect(new Set(ids).size).toBe(1000);
    for (const id of ids) {
      const random = Buffer.from(id.split('.')[1] as string, 'base64url');
      expect(random).toHaveLength(16);
    }
  });

  it.each([
    'abc',
    '',
    'k.AAAAAAAAAAAAAAAAAAAAAA==',
    'K.AAAAAAAAAAAAAAAAAAAAAA',
    'k.AAAAAAAAAAAAAAAAAAAAA',
    'k.AAAAAAAAAAAAAAAAAAAAAAA',
    '123456789.AAAAAAAAAAAAAAAAAAAAAA',
    'k.AAAAAAAAAAAAAAAAAAAAA+',
    ' k.AAAAAAAAAAAAAAAAAAAAAA',
  ])('reject %j, which is not one of ours', (id) => {
    expect(isTokenId(id)).toBe(false);
    expect(expiryDayOfId(id)).toBeUndefined();
  });

  it('reject non-strings', () => {
    for (const v of [undefined, null, 1, {}, ['k.AAAAAAAAAAAAAAAAAAAAAA']])
      expect(isTokenId(v)).toBe(false);
  });
});
