/**
 * Compact JWS for our tokens, ES256 only. Decoding is strict: three base64url parts in canonical
 * form, a header with exactly `alg`, `typ` and `kid` (so `alg: none`, HS256, `crit`, `jku`, `jwk`,
 * `x5u` and friends are all refused before any key is looked at), JSON without duplicate member
 * names, and a 64-byte signature with a low s.
 */
import type { KeyObject } from 'node:crypto';
import { isLowS, signEs256, SIGNATURE_BYTES } from '../crypto/es256.js';
import { BASE64URL_VALUE } from '../base64url.js';
import { AuthError, ErrorCodes } from '../errors.js';
import { parseStrictJsonObject, StrictJsonError } from './strict-json.js';

export interface JwsHeader {
  alg: 'ES256';
  typ: string;
  kid: string;
}

export interface DecodedJws {
  /** Shared by every token with the same header: not to be changed. */
  header: Readonly<JwsHeader>;
  payload: Record<string, unknown>;
  /** The bytes the signature covers: `base64url(header) . base64url(payload)`. */
  signingInput: string;
  signature: Buffer;
}

const B64URL = /^[A-Za-z0-9_-]+$/;
const HEADER_MEMBERS = new Set(['alg', 'typ', 'kid']);
/** Printable ASCII without spaces: a kid is looked up in Postgres, which refuses a NUL byte. */
const KID = /^[\x21-\x7e]{1,128}$/;
/** The length of a compact JWS's signature part (64 bytes, unpadded base64url). */
export const SIGNATURE_CHARS = Math.ceil((SIGNATURE_BYTES * 4) / 3);

function invalid(detail: string): AuthError {
  return new AuthError(ErrorCodes.invalidToken, detail);
}

/**
 * Whether base64url text (alphabet already checked) is the one spelling of its bytes: unpadded
 * text of 4k + 1 characters spells no bytes, and the bits of a last, partial group that fall
 * beyond the bytes must be zero (Buffer decoding ignores them, which would give a token a second
 * spelling).
 */
export function isCanonicalBase64url(part: string): boolean {
  const rest = part.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = BASE64URL_VALUE[part.charCodeAt(part.length - 1)] as number;
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0;
}

function decodePart(part: string, what: string): Buffer {
  if (!B64URL.test(part)) throw invalid(`${what} is not base64url`);
  if (!isCanonicalBase64url(part)) throw invalid(`${what} is not canonical base64url`);
  return Buffer.from(part, 'base64url');
}

/**
 * ignoreBOM: true keeps a leading U+FEFF in the text, where the strict parser refuses it; the
 * default would strip it silently and give the token a second spelling. One decoder serves every
 * call: without `stream`, decode() keeps no state between calls.
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function parseJson(bytes: Buffer, what: string): Record<string, unknown> {
  try {
    return parseStrictJsonObject(UTF8.decode(bytes));
  } catch (e) {
    if (e instanceof StrictJsonError || e instanceof TypeError || e instanceof SyntaxError) {
      throw invalid(`${what} is not a valid JSON object: ${e.message}`);
    }
    throw e;
  }
}

/**
 * Headers already read and accepted, by their base64url text: every token of one key and kind
 * has the same header, so the work of reading it (decoding, the strict JSON, the checks) is done
 * once per key and kind rather than once per token. Bounded: emptied when full; only short
 * headers are kept.
 */
const knownHeaders = new Map<string, Readonly<JwsHeader>>();
const KNOWN_HEADERS = 1024;
const KNOWN_HEADER_CHARS = 256;

function readHeader(h: string): Readonly<JwsHeader> {
  const known = knownHeaders.get(h);
  if (known !== undefined) return known;
  const header = parseJson(decodePart(h, 'header'), 'header');
  for (const name of Object.keys(header)) {
    if (!HEADER_MEMBERS.has(name)) throw invalid(`header member "${name}" is not accepted`);
  }
  if (header.alg !== 'ES256') throw invalid('only alg ES256 is accepted');
  if (typeof header.typ !== 'string') throw invalid('header has no typ');
  if (typeof header.kid !== 'string' || !KID.test(header.kid)) {
    throw invalid('header has no valid kid');
  }
  const accepted = Object.freeze({ alg: 'ES256' as const, typ: header.typ, kid: header.kid });
  if (h.length <= KNOWN_HEADER_CHARS) {
    if (knownHeaders.size >= KNOWN_HEADERS) knownHeaders.clear();
    knownHeaders.set(h, accepted);
  }
  return accepted;
}

/** Splits and checks a compact JWS without verifying its signature. */
export function decodeJws(token: string, maxBytes: number): DecodedJws {
  if (token.length > maxBytes) throw invalid(`token is longer than ${maxBytes} bytes`);
  const parts = token.split('.');
  if (parts.length !== 3) throw invalid('token is not a compact JWS (three dot-separated parts)');
  const [h, p, s] = parts as [string, string, string];
  const header = readHeader(h);
  if (s.length !== SIGNATURE_CHARS) throw invalid('signature is not 64 bytes');
  const signature = decodePart(s, 'signature');
  // The high-s twin (r, n - s) of a valid signature verifies too; refusing it leaves every token
  // exactly one valid spelling, so nothing keyed on token strings can be sidestepped.
  if (!isLowS(signature)) throw invalid('signature is not in low-s form');
  const payload = parseJson(decodePart(p, 'payload'), 'payload');
  // The signing input is the token up to its last dot: a slice of it, not a copy.
  return { header, payload, signingInput: token.slice(0, h.length + 1 + p.length), signature };
}

/** Signs a payload into a compact JWS. */
export function encodeJws(header: JwsHeader, payload: object, privateKey: KeyObject): string {
  const input =
    Buffer.from(JSON.stringify({ alg: header.alg, typ: header.typ, kid: header.kid })).toString(
      'base64url',
    ) +
    '.' +
    Buffer.from(JSON.stringify(payload)).toString('base64url');
  return `${input}.${signEs256(privateKey, input).toString('base64url')}`;
}
