import { describe, expect, it } from 'vitest';
import { base64urlBits30, BASE64URL_VALUE } from '../../src/base64url.js';

describe('base64url', () => {
  it('numbers the alphabet as RFC 4648 §5 does, and nothing else', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let c = 0; c < 128; c++) {
      expect(BASE64URL_VALUE[c]).toBe(alphabet.indexOf(String.fromCharCode(c)));
    }
  });

  it('reads the 30 bits of five characters, as decoding them would give', () => {
    expect(base64urlBits30('AAAAA', 0)).toBe(0);
    expect(base64urlBits30('AAAAB', 0)).toBe(1);
    expect(base64urlBits30('_____', 0)).toBe(2 ** 30 - 1);
    const bytes = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x23, 0x45, 0x67, 0x89]);
    const text = bytes.toString('base64url');
    // The first 30 bits of the bytes, and the 30 after them.
    expect(base64urlBits30(text, 0)).toBe(bytes.readUInt32BE(0) >>> 2);
    expect(base64urlBits30(text, 5)).toBe(Number((bytes.readBigUInt64BE(0) >> 4n) & 0x3fffffffn));
  });

  it('says -1 for text that is not base64url there, or too short', () => {
    expect(base64urlBits30('AA.AA', 0)).toBe(-1);
    expect(base64urlBits30('AAAAé', 0)).toBe(-1);
    expect(base64urlBits30('AAAA', 0)).toBe(-1);
    expect(base64urlBits30('AAAAAA', 2)).toBe(-1);
    expect(base64urlBits30('AAAAA', -1)).toBe(-1);
  });
});
