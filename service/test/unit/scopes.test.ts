/**
 * Scopes as RFC 6749 section 3.3 defines them, with bounds on count and length.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_SCOPE_LENGTH,
  MAX_SCOPES,
  normalizeScopes,
  parseScopeClaim,
  scopesBeyond,
} from '../../src/tokens/scopes.js';
import { codeOfSync } from './helpers.js';

describe('normalizeScopes', () => {
  it('keeps the given order and drops repeats', () => {
    expect(normalizeScopes(['write', 'read', 'write', 'admin:x', 'read'])).toEqual([
      'write',
      'read',
      'admin:x',
    ]);
  });

  it('accepts every printable ASCII character RFC 6749 allows', () => {
    const allowed = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i))
      .filter((c) => c !== '"' && c !== '\\')
      .join('');
    expect(normalizeScopes([allowed])).toEqual([allowed]);
  });

  it.each([
    ['empty', ''],
    ['with a space', 'read write'],
    ['with a double quote', 'a"b'],
    ['with a backslash', 'a\\b'],
    ['with a tab', 'a\tb'],
    ['with a newline', 'a\nb'],
    ['non-ASCII', 'lecture-é'],
    ['with DEL', 'a\x7f'],
    ['longer than 128 characters', 'x'.repeat(MAX_SCOPE_LENGTH + 1)],
  ])('refuses a scope %s with invalid_scope', (_what, scope) => {
    expect(codeOfSync(() => normalizeScopes(['read', scope]))).toBe('invalid_scope');
  });

  it('accepts 128 characters and 64 scopes, refuses 65', () => {
    expect(MAX_SCOPE_LENGTH).toBe(128);
    expect(MAX_SCOPES).toBe(64);
    expect(normalizeScopes(['x'.repeat(128)])).toHaveLength(1);
    const many = Array.from({ length: 64 }, (_, i) => `s${i}`);
    expect(normalizeScopes(many)).toHaveLength(64);
    expect(codeOfSync(() => normalizeScopes([...many, 's64']))).toBe('invalid_scope');
  });

  it('refuses a non-string smuggled in from JSON', () => {
    expect(codeOfSync(() => normalizeScopes([1 as unknown as string]))).toBe('invalid_scope');
  });
});

describe('parseScopeClaim', () => {
  it('splits on spaces; the empty claim is no scope at all', () => {
    expect(parseScopeClaim('read write')).toEqual(['read', 'write']);
    expect(parseScopeClaim('read')).toEqual(['read']);
    expect(parseScopeClaim('')).toEqual([]);
  });

  it('round-trips normalised scopes through the claim', () => {
    const scopes = normalizeScopes(['a', 'b:c', 'd/e']);
    expect(parseScopeClaim(scopes.join(' '))).toEqual(scopes);
  });
});

describe('scopesBeyond', () => {
  it('lists exactly the requested scopes the grant does not hold', () => {
    expect(scopesBeyond(['read', 'write', 'admin'], ['read', 'write'])).toEqual(['admin']);
    expect(scopesBeyond(['read'], ['read', 'write'])).toEqual([]);
    expect(scopesBeyond([], [])).toEqual([]);
    expect(scopesBeyond(['read'], [])).toEqual(['read']);
  });

  it('does not treat a prefix or a case variant as held', () => {
    expect(scopesBeyond(['read:all', 'READ'], ['read'])).toEqual(['read:all', 'READ']);
  });

  it('treats a null grant (an unscoped app token) as holding every scope', () => {
    expect(scopesBeyond(['anything', 'admin'], null)).toEqual([]);
  });
});
