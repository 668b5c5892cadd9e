/**
 * App tokens: a recognisable prefix, at least 256 random bits, and a checksum that catches typos
 * offline; only their SHA-256 is stored.
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  APP_TOKEN_PREFIX,
  crc32,
  generateAppToken,
  hashAppToken,
  hasValidAppTokenChecksum,
  looksLikeAppToken,
} from '../../src/tokens/app-token-format.js';

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const BODY = 43;

function bodyValue(token: string): bigint {
  let n = 0n;
  for (const c of token.slice(APP_TOKEN_PREFIX.length, APP_TOKEN_PREFIX.length + BODY)) {
    n = n * 62n + BigInt(ALPHABET.indexOf(c));
  }
  return n;
}

describe('generateAppToken', () => {
  const tokens = Array.from({ length: 128 }, generateAppToken);

  it('starts with the recognisable prefix and has a fixed, scanner-friendly shape', () => {
    expect(APP_TOKEN_PREFIX).toBe('quint_app_');
    for (const t of tokens) expect(t).toMatch(/^quint_app_[0-9A-Za-z]{49}$/);
  });

  it('carries checksums that validate', () => {
    for (const t of tokens) expect(hasValidAppTokenChecksum(t)).toBe(true);
  });

  it('draws every one of 256 bits at random (each bit seen both set and clear)', () => {
    // With 128 tokens, a truly random bit is constant in all of them with probability 2^-127.
    let or = 0n;
    let and = (1n << 256n) - 1n;
    for (const t of tokens) {
      const v = bodyValue(t);
      expect(v < 1n << 256n).toBe(true);
      or |= v;
      and &= v;
    }
    expect(or).toBe((1n << 256n) - 1n);
    expect(and).toBe(0n);
    expect(new Set(tokens).size).toBe(tokens.length);
  });
});

describe('hasValidAppTokenChecksum', () => {
  const token = generateAppToken();

  it('catches every one-character change anywhere after the prefix', () => {
    let variants = 0;
    for (let i = APP_TOKEN_PREFIX.length; i < token.length; i++) {
      for (const c of ALPHABET) {
        if (c === token[i]) continue;
        const changed = token.slice(0, i) + c + token.slice(i + 1);
        expect(hasValidAppTokenChecksum(changed), `position ${i} → ${c}`).toBe(false);
        variants++;
      }
    }
    expect(variants).toBe(49 * 61);
  });

  it('catches two adjacent characters swapped', () => {
    for (let i = APP_TOKEN_PREFIX.length; i < token.length - 1; i++) {
      if (token[i] === token[i + 1]) continue;
      const swapped = token.slice(0, i) + token[i + 1] + token[i] + token.slice(i + 2);
      expect(hasValidAppTokenChecksum(swapped)).toBe(false);
    }
  });

  it.each([
    ['a missing character', (t: string) => t.slice(0, -1)],
    ['an extra character', (t: string) => `${t}0`],
    ['another prefix', (t: string) => t.replace('quint_app_', 'quint_apq_')],
    ['surrounding whitespace', (t: string) => ` ${t}`],
    ['a non-base62 character', (t: string) => `${t.slice(0, 20)}-${t.slice(21)}`],
  ])('refuses %s', (_what, mutate) => {
    expect(hasValidAppTokenChecksum(mutate(token))).toBe(false);
  });
});

describe('looksLikeAppToken', () => {
  it('recognises the prefix, so a mistyped app token is refused as an app token, not parsed as a JWS', () => {
    expect(looksLikeAppToken(generateAppToken())).toBe(true);
    expect(looksLikeAppToken('quint_app_garbage')).toBe(true);
    expect(looksLikeAppToken('eyJhbGciOiJFUzI1NiJ9.e30.sig')).toBe(false);
  });
});

describe('crc32 and hashAppToken', () => {
  it('crc32 is the standard IEEE CRC-32 (check value of "123456789")', () => {
    expect(crc32('123456789')).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });

  it('stores the SHA-256 of the token, never the token', () => {
    const t = generateAppToken();
    expect(hashAppToken(t)).toEqual(createHash('sha256').update(t).digest());
    expect(hashAppToken(t).toString('latin1')).not.toContain(t);
  });
});
