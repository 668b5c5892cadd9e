/**
 * The base64url alphabet (RFC 4648 §5) as numbers, for code that reads a few characters' bits
 * without decoding a whole string.
 */

/** The alphabet position (0-63) of each ASCII character, or -1. */
export const BASE64URL_VALUE: Readonly<Int8Array> = (() => {
  const table = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  return table;
})();

/**
 * The 30 bits spelled by the five base64url characters of `text` from `at`, or -1 if any of them
 * is not a base64url character (or `text` ends before them).
 */
export function base64urlBits30(text: string, at: number): number {
  if (at < 0 || at + 5 > text.length) return -1;
  let v = 0;
  for (let i = at; i < at + 5; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? (BASE64URL_VALUE[c] as number) : -1;
    if (d < 0) return -1;
    v = v * 64 + d;
  }
  return v;
}
