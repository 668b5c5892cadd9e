/**
 * Compact JWS decoding is strict before any key is looked at: three canonical base64url parts, a
 * header of exactly alg/typ/kid with alg ES256, no duplicate names, a 64-byte signature, a size cap.
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateEs256KeyPair, verifyEs256 } from '../../src/crypto/es256.js';
import { decodeJws, encodeJws, isCanonicalBase64url } from '../../src/tokens/jws.js';
import { b64json, codeOfSync, highSTwin, MAX_TOKEN_BYTES } from './helpers.js';

const { privateKey, publicKey } = generateEs256KeyPair();
const header = { alg: 'ES256', typ: 'bearer+jwt', kid: 'kid-1' } as const;
const payload = { sub: 'u', scope: 'read', n: 1 };
const token = encodeJws(header, payload, privateKey);
const [, p, sig] = token.split('.') as [string, string, string];

/** A token with this exact header text, the good payload and a 64-byte signature over both. */
function withHeaderText(text: string): string {
  const h = Buffer.from(text).toString('base64url');
  return `${h}.${p}.${sig}`;
}

describe('encodeJws', () => {
  it('writes a header of alg, typ and kid and a payload that decode back, with a signature over both', () => {
    const decoded = decodeJws(token, MAX_TOKEN_BYTES);
    expect(decoded.header).toEqual(header);
    expect(decoded.payload).toEqual(payload);
    expect(decoded.signature).toHaveLength(64);
    expect(decoded.signingInput).toBe(token.split('.').slice(0, 2).join('.'));
    expect(verifyEs256(publicKey, decoded.signingInput, decoded.signature)).toBe(true);
  });

  it('writes only alg, typ and kid even if the caller passes more', () => {
    const extra = { ...header, jku: 'https://evil' } as unknown as typeof header;
    const h = encodeJws(extra, payload, privateKey).split('.')[0] as string;
    expect(JSON.parse(Buffer.from(h, 'base64url').toString())).toEqual(header);
  });
});

describe('decodeJws refuses', () => {
  it.each([
    ['alg none', { alg: 'none', typ: 'bearer+jwt', kid: 'kid-1' }],
    ['alg "None"', { alg: 'None', typ: 'bearer+jwt', kid: 'kid-1' }],
    ['alg HS256', { alg: 'HS256', typ: 'bearer+jwt', kid: 'kid-1' }],
    ['alg RS256', { alg: 'RS256', typ: 'bearer+jwt', kid: 'kid-1' }],
    ['alg ES384', { alg: 'ES384', typ: 'bearer+jwt', kid: 'kid-1' }],
    ['alg "es256"', { alg: 'es256', typ: 'bearer+jwt', kid: 'kid-1' }],
    ['no alg', { typ: 'bearer+jwt', kid: 'kid-1' }],
    ['no typ', { alg: 'ES256', kid: 'kid-1' }],
    ['a typ that is not a string', { alg: 'ES256', typ: 1, kid: 'kid-1' }],
    ['no kid', { alg: 'ES256', typ: 'bearer+jwt' }],
    ['an empty kid', { alg: 'ES256', typ: 'bearer+jwt', kid: '' }],
    ['a numeric kid', { alg: 'ES256', typ: 'bearer+jwt', kid: 7 }],
    ['a 129-character kid', { alg: 'ES256', typ: 'bearer+jwt', kid: 'k'.repeat(129) }],
    ['crit', { ...header, crit: ['exp'] }],
    ['jku', { ...header, jku: 'https://attacker.example/jwks.json' }],
    ['jwk', { ...header, jwk: { kty: 'EC', crv: 'P-256', x: 'x', y: 'y' } }],
    ['x5u', { ...header, x5u: 'https://attacker.example/cert.pem' }],
    ['x5c', { ...header, x5c: ['MIIB'] }],
    ['b64', { ...header, b64: false }],
    ['zip', { ...header, zip: 'DEF' }],
    ['cty', { ...header, cty: 'JWT' }],
  ])('a header with %s, even with a 64-byte signature', (_what, h) => {
    expect(codeOfSync(() => decodeJws(`${b64json(h)}.${p}.${sig}`, MAX_TOKEN_BYTES))).toBe(
      'invalid_token',
    );
  });

  it('accepts a 128-character kid (the bound is inclusive)', () => {
    const t = `${b64json({ ...header, kid: 'k'.repeat(128) })}.${p}.${sig}`;
    expect(decodeJws(t, MAX_TOKEN_BYTES).header.kid).toHaveLength(128);
  });

  it('alg none with an empty signature', () => {
    const t = `${b64json({ alg: 'none', typ: 'bearer+jwt', kid: 'kid-1' })}.${p}.`;
    expect(codeOfSync(() => decodeJws(t, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('an HS256 token MACed with the public key (32-byte signature, alg confusion)', () => {
    const secret = publicKey.export({ format: 'pem', type: 'spki' });
    const input = `${b64json({ alg: 'HS256', typ: 'bearer+jwt', kid: 'kid-1' })}.${p}`;
    const mac = createHmac('sha256', secret).update(input).digest('base64url');
    expect(codeOfSync(() => decodeJws(`${input}.${mac}`, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('a duplicate header member (JSON.parse would keep the last alg)', () => {
    const t = withHeaderText('{"alg":"none","alg":"ES256","typ":"bearer+jwt","kid":"kid-1"}');
    expect(codeOfSync(() => decodeJws(t, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('a duplicate payload claim', () => {
    const dup = Buffer.from('{"sub":"u","scope":"read","scope":"admin"}').toString('base64url');
    const h = token.split('.')[0] as string;
    expect(codeOfSync(() => decodeJws(`${h}.${dup}.${sig}`, MAX_TOKEN_BYTES))).toBe(
      'invalid_token',
    );
  });

  it.each([
    ['two parts', token.split('.').slice(0, 2).join('.')],
    ['four parts', `${token}.${sig}`],
    ['an empty payload', `${token.split('.')[0]}..${sig}`],
    ['padding', `${token.split('.')[0]}.${p}=.${sig}`],
    ['a standard-base64 character in the payload', `${token.split('.')[0]}.+${p}.${sig}`],
    ['whitespace', ` ${token}`],
    ['a JSON array payload', `${token.split('.')[0]}.${b64json([1])}.${sig}`],
    [
      'a non-JSON payload',
      `${token.split('.')[0]}.${Buffer.from('sub=u').toString('base64url')}.${sig}`,
    ],
    [
      'an invalid UTF-8 payload',
      `${token.split('.')[0]}.${Buffer.from([0x7b, 0xff, 0x7d]).toString('base64url')}.${sig}`,
    ],
    [
      'a 63-byte signature',
      `${token.split('.').slice(0, 2).join('.')}.${Buffer.alloc(63, 1).toString('base64url')}`,
    ],
    [
      'a 65-byte signature',
      `${token.split('.').slice(0, 2).join('.')}.${Buffer.alloc(65, 1).toString('base64url')}`,
    ],
    [
      'a 72-byte (DER-sized) signature',
      `${token.split('.').slice(0, 2).join('.')}.${Buffer.alloc(72, 1).toString('base64url')}`,
    ],
  ])('%s', (_what, t) => {
    expect(codeOfSync(() => decodeJws(t, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('a second spelling of the same bytes (non-canonical trailing bits in the signature)', () => {
    // 64 bytes take 86 characters with 4 unused low bits in the last one; setting them keeps the
    // decoded bytes but makes a different token string.
    const last = sig.at(-1) as string;
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const idx = alphabet.indexOf(last);
    const twin = alphabet[idx ^ 0b0001] as string;
    const t = `${token.split('.').slice(0, 2).join('.')}.${sig.slice(0, -1)}${twin}`;
    expect(Buffer.from(t.split('.')[2] as string, 'base64url')).toEqual(
      Buffer.from(sig, 'base64url'),
    );
    expect(codeOfSync(() => decodeJws(t, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('the high-s twin of a valid signature (valid ECDSA, but a second spelling of the token)', () => {
    const twin = highSTwin(Buffer.from(sig, 'base64url'));
    expect(verifyEs256(publicKey, token.split('.').slice(0, 2).join('.'), twin)).toBe(true);
    const t = `${token.split('.').slice(0, 2).join('.')}.${twin.toString('base64url')}`;
    expect(codeOfSync(() => decodeJws(t, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it.each(['header', 'payload'])('a byte order mark before the %s JSON', (part) => {
    const [h0, p0] = token.split('.') as [string, string];
    const bom = (b64: string) =>
      Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(b64, 'base64url')]).toString(
        'base64url',
      );
    const t = part === 'header' ? `${bom(h0)}.${p0}.${sig}` : `${h0}.${bom(p0)}.${sig}`;
    expect(codeOfSync(() => decodeJws(t, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('a token longer than the cap, and accepts one exactly at it', () => {
    const base = encodeJws(header, { pad: '' }, privateKey);
    const room = 1000 - base.length;
    // JSON '' → 'x…x' grows the base64url payload by 4/3 per character; search for an exact fit.
    let exact: string | undefined;
    for (let n = Math.floor((room * 3) / 4) - 3; n <= Math.floor((room * 3) / 4) + 3; n++) {
      const t = encodeJws(header, { pad: 'x'.repeat(n) }, privateKey);
      if (t.length === 1000) exact = t;
    }
    expect(exact).toBeDefined();
    expect(decodeJws(exact as string, 1000).payload).toHaveProperty('pad');
    expect(codeOfSync(() => decodeJws(exact as string, 999))).toBe('invalid_token');
  });

  it('an oversized token before parsing any of it', () => {
    const huge = 'a'.repeat(MAX_TOKEN_BYTES + 1);
    expect(codeOfSync(() => decodeJws(huge, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });
});

describe('the shared UTF-8 decoder', () => {
  it('refuses a payload that is not UTF-8, and decodes the next token as before', () => {
    const { privateKey } = generateEs256KeyPair();
    const good = encodeJws({ alg: 'ES256', typ: 'agent+jwt', kid: 'k1' }, { a: 'é' }, privateKey);
    const [h, , sig] = good.split('.');
    const bad = `${h}.${Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]).toString('base64url')}.${sig}`;
    expect(() => decodeJws(bad, 8192)).toThrow(/not a valid JSON object/);
    expect(decodeJws(good, 8192).payload).toEqual({ a: 'é' });
  });
});

describe('headers read once', () => {
  it('give every token with the same header the same, unchangeable answer', () => {
    const other = encodeJws(header, { ...payload, n: 2 }, privateKey);
    const [a, b] = [decodeJws(token, MAX_TOKEN_BYTES), decodeJws(other, MAX_TOKEN_BYTES)];
    expect(b.header).toBe(a.header);
    expect(Object.isFrozen(a.header)).toBe(true);
    expect(b.payload).toEqual({ ...payload, n: 2 });
  });

  it('are refused every time they are presented, never remembered as accepted', () => {
    const bad = withHeaderText('{"alg":"ES256","typ":"bearer+jwt","kid":"kid-1","jku":"x"}');
    for (let i = 0; i < 3; i++)
      expect(codeOfSync(() => decodeJws(bad, MAX_TOKEN_BYTES))).toBe('invalid_token');
  });

  it('still check the rest of the token when the header is known', () => {
    decodeJws(token, MAX_TOKEN_BYTES);
    expect(
      codeOfSync(() =>
        decodeJws(
          `${token.split('.')[0]}.${p}.${highSTwin(Buffer.from(sig, 'base64url')).toString('base64url')}`,
          MAX_TOKEN_BYTES,
        ),
      ),
    ).toBe('invalid_token');
    expect(
      codeOfSync(() =>
        decodeJws(
          `${token.split('.')[0]}.${Buffer.from('{"a":1,"a":2}').toString('base64url')}.${sig}`,
          MAX_TOKEN_BYTES,
        ),
      ),
    ).toBe('invalid_token');
  });
});

describe('isCanonicalBase64url', () => {
  it('agrees with decoding and re-encoding on every length and every last character', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    let canonical = 0;
    for (const stem of ['', 'QQ', 'QUJD', 'QUJDRA', 'eyJhbGciOiJFUzI1NiJ9']) {
      for (const tail of ['', ...alphabet]) {
        for (const extra of ['', 'A', 'AA', 'AAA']) {
          const text = stem + extra + tail;
          const expected = Buffer.from(text, 'base64url').toString('base64url') === text;
          expect(isCanonicalBase64url(text), text).toBe(expected);
          if (expected) canonical++;
        }
      }
    }
    expect(canonical).toBeGreaterThan(100);
  });
});
