import { describe, expect, it } from 'vitest';
import { loggedPath } from '../../src/http/app.js';

/** What loggedPath must give: every credential-like segment redacted, the query string dropped. */
function reference(url: string): string {
  const path = url.split('?')[0] as string;
  return path.replace(/[^/]*(?:quint_app_|eyJ)[^/]*|[^/]{65,}/g, '[redacted]');
}

const JWT = 'eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln';
const APP_TOKEN = 'quint_app_0123456789abcdef';

describe('loggedPath', () => {
  it('keeps our own paths as they are, without the query string', () => {
    expect(loggedPath('/v1/tokens/verify')).toBe('/v1/tokens/verify');
    expect(loggedPath('/v1/audit?before=12&limit=5')).toBe('/v1/audit');
    expect(loggedPath(`/v1/customers/${'c'.repeat(64)}/signing-keys/rotate`)).toBe(
      `/v1/customers/${'c'.repeat(64)}/signing-keys/rotate`,
    );
  });

  it('redacts a token sent in the path, however short the path', () => {
    expect(loggedPath(`/${JWT}`)).toBe('/[redacted]');
    expect(loggedPath('/x/eyJ')).toBe('/x/[redacted]');
    expect(loggedPath(`/v1/${APP_TOKEN}/x`)).toBe('/v1/[redacted]/x');
    expect(loggedPath(`/a?token=${JWT}`)).toBe('/a');
  });

  it('redacts any segment of 65 characters or more, with or without a leading slash', () => {
    expect(loggedPath(`/v1/${'a'.repeat(65)}`)).toBe('/v1/[redacted]');
    expect(loggedPath(`/v1/${'a'.repeat(64)}`)).toBe(`/v1/${'a'.repeat(64)}`);
    expect(loggedPath('b'.repeat(65))).toBe('[redacted]');
    expect(loggedPath('b'.repeat(64))).toBe('b'.repeat(64));
  });

  it('gives what the full scan gives, for paths of every length around the bound', () => {
    const parts = ['', 'v1', 'eyJx', APP_TOKEN, 'quint_app', 'e'.repeat(30), 'yJ', '%2F', '?q=eyJ'];
    let seed = 7;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    for (let i = 0; i < 5_000; i++) {
      const segments = Array.from(
        { length: 1 + Math.floor(next() * 4) },
        () => parts[Math.floor(next() * parts.length)] + 'z'.repeat(Math.floor(next() * 70)),
      );
      const url = (next() < 0.9 ? '/' : '') + segments.join('/');
      expect(loggedPath(url), url).toBe(reference(url));
    }
  });
});
