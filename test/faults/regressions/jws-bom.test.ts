/**
 * Regression: a header or payload starting with a UTF-8 byte order mark was accepted, because
 * TextDecoder strips a BOM unless told `ignoreBOM: true` (the option's name reads backwards).
 * Strict decoding promises one spelling per token. Found by the fault suite's abuse scenario.
 */
import { describe, expect, it } from 'vitest';
import { generateEs256KeyPair, signEs256 } from '../../../service/src/crypto/es256.js';
import { decodeJws } from '../../../service/src/tokens/jws.js';

const { privateKey } = generateEs256KeyPair();
const header = { alg: 'ES256', typ: 'bearer+jwt', kid: 'k_test' };
const claims = { sub: 'x', exp: 1 };
const b64 = (text: string) => Buffer.from(text).toString('base64url');

function signed(h: string, p: string): string {
  const input = `${b64(h)}.${b64(p)}`;
  return `${input}.${signEs256(privateKey, input).toString('base64url')}`;
}

describe('byte order marks in a JWS', () => {
  it('decodes the plain token', () => {
    const token = signed(JSON.stringify(header), JSON.stringify(claims));
    expect(decodeJws(token, 8192).payload).toEqual(claims);
  });

  it('refuses a BOM before the payload or the header', () => {
    expect(() =>
      decodeJws(signed(JSON.stringify(header), `\ufeff${JSON.stringify(claims)}`), 8192),
    ).toThrow(/payload is not a valid JSON object/);
    expect(() =>
      decodeJws(signed(`\ufeff${JSON.stringify(header)}`, JSON.stringify(claims)), 8192),
    ).toThrow(/header is not a valid JSON object/);
  });
});
