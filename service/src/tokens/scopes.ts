/**
 * Scopes: space-separated tokens as in RFC 6749 section 3.3, with limits on count and length.
 */
import { AuthError, ErrorCodes } from '../errors.js';

export const MAX_SCOPES = 64;
export const MAX_SCOPE_LENGTH = 128;
const SCOPE_TOKEN = /^[\x21\x23-\x5b\x5d-\x7e]+$/;

/** Validates requested scopes; returns them de-duplicated in their given order. */
export function normalizeScopes(scopes: readonly string[]): string[] {
  if (scopes.length > MAX_SCOPES) {
    throw new AuthError(ErrorCodes.invalidScope, `at most ${MAX_SCOPES} scopes may be requested`);
  }
  for (const s of scopes) {
    if (
      typeof s !== 'string' ||
      s.length === 0 ||
      s.length > MAX_SCOPE_LENGTH ||
      !SCOPE_TOKEN.test(s)
    ) {
      throw new AuthError(
        ErrorCodes.invalidScope,
        `invalid scope ${JSON.stringify(s)}: scopes are 1–${MAX_SCOPE_LENGTH} printable ASCII characters without spaces, quotes or backslashes`,
      );
    }
  }
  return [...new Set(scopes)];
}

/** Parses a `scope` claim (space-separated). */
export function parseScopeClaim(scope: string): string[] {
  return scope === '' ? [] : scope.split(' ');
}

/** The scopes in `requested` that `granted` does not hold; `granted === null` holds every scope. */
export function scopesBeyond(
  requested: readonly string[],
  granted: readonly string[] | null,
): string[] {
  if (granted === null) return [];
  const held = new Set(granted);
  return requested.filter((s) => !held.has(s));
}
