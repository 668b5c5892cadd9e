/**
 * Forged and mangled tokens, generated from genuine ones: every token made here must be refused
 * by the service (verify answers `active: false`; as a bearer it is refused). A few are signed
 * with the customer's real private key (read the way the service reads it) to reach the claim
 * checks behind the signature: wrong claim types, another customer's id, times, sizes.
 */
import { createHmac, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { signEs256 } from '../../service/src/crypto/es256.js';
import { APP_TOKEN_PREFIX, crc32 } from '../../service/src/tokens/app-token-format.js';

/** The order of the P-256 group. */
export const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

export interface ForgeryMaterial {
  /** A genuine bearer token of customer A, signed by A's key `kidA`. */
  bearerA: string;
  appTokenA: string;
  kidA: string;
  kidB: string;
  customerA: string;
  customerB: string;
  privateKeyA: KeyObject;
  privateKeyB: KeyObject;
  /** A's public key as it appears in the JWKS. */
  jwkA: Record<string, string>;
  publicPemA: string;
}

export interface Forgery {
  name: string;
  token: string;
}

const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const json = (v: unknown) => b64(JSON.stringify(v));

function bigToBytes(n: bigint, len = 32): Buffer {
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  const b = Buffer.from(hex, 'hex');
  if (b.length >= len) return b;
  return Buffer.concat([Buffer.alloc(len - b.length), b]);
}

function derInt(b: Buffer): Buffer {
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  let v = b.subarray(i);
  if ((v[0] as number) & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02, v.length]), v]);
}

/** The DER (ASN.1) encoding of an r||s signature, as OpenSSL would produce it. */
export function toDer(sig: Buffer): Buffer {
  const body = Buffer.concat([derInt(sig.subarray(0, 32)), derInt(sig.subarray(32))]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

/** The other valid ECDSA signature of the same message: (r, n − s). */
export function highSTwin(sig: Buffer): Buffer {
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  return Buffer.concat([sig.subarray(0, 32), bigToBytes(P256_N - s)]);
}

function parts(token: string): [string, string, string] {
  const [h, p, s] = token.split('.');
  return [h ?? '', p ?? '', s ?? ''];
}

/** Generates the forgeries; `count` bounds the randomly mutated ones added to the fixed list. */
export function forgeries(m: ForgeryMaterial, randomCount: number): Forgery[] {
  const out: Forgery[] = [];
  const add = (name: string, token: string) => out.push({ name, token });
  const [h, p, s] = parts(m.bearerA);
  const header = JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
  const sig = Buffer.from(s, 'base64url');
  const withHeader = (hd: unknown, sg = s) => `${json(hd)}.${p}.${sg}`;
  const signWith = (key: KeyObject, hd: unknown, payload: string) => {
    const input = `${typeof hd === 'string' ? hd : json(hd)}.${payload}`;
    return `${input}.${signEs256(key, input).toString('base64url')}`;
  };
  const signedA = (c: unknown, hd: unknown = header) => signWith(m.privateKeyA, hd, json(c));

  // alg variants, keeping the genuine signature and with none
  for (const alg of [
    'none',
    'None',
    'NONE',
    'nOnE',
    'HS256',
    'HS384',
    'HS512',
    'RS256',
    'PS256',
    'ES384',
    'ES512',
    'ES256K',
    'EdDSA',
    'es256',
    'ES256 ',
    ' ES256',
    'ES256\u0000',
    '',
  ]) {
    add(`alg ${JSON.stringify(alg)}`, withHeader({ ...header, alg }));
    add(`alg ${JSON.stringify(alg)}, empty signature`, `${json({ ...header, alg })}.${p}.`);
  }
  for (const alg of [null, 1, ['ES256'], { ES256: true }, true]) {
    add(`alg ${JSON.stringify(alg)}`, withHeader({ ...header, alg }));
  }
  const { alg: _alg, ...noAlg } = header;
  add('alg missing', withHeader(noAlg));
  add('alg none, no signature part', `${json({ ...header, alg: 'none' })}.${p}`);

  // HS256 with the public key as the HMAC secret, in every form a confused verifier might use
  const secrets: Record<string, string | Buffer> = {
    'jwk json': JSON.stringify(m.jwkA),
    'jwk x': m.jwkA.x ?? '',
    pem: m.publicPemA,
    'pem trimmed': m.publicPemA.trim(),
    'x||y': Buffer.concat([
      Buffer.from(m.jwkA.x ?? '', 'base64url'),
      Buffer.from(m.jwkA.y ?? '', 'base64url'),
    ]),
    kid: m.kidA,
  };
  for (const [what, secret] of Object.entries(secrets)) {
    for (const alg of ['HS256', 'HS512']) {
      const hd = json({ ...header, alg });
      const mac = createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret)
        .update(`${hd}.${p}`)
        .digest('base64url');
      add(`${alg} keyed with the public key (${what})`, `${hd}.${p}.${mac}`);
    }
  }

  // kid tricks
  const kids: unknown[] = [
    m.kidB,
    '',
    ' ',
    `${m.kidA} `,
    m.kidA.toUpperCase(),
    `${m.kidA}\u0000`,
    '../../../../etc/passwd',
    "' OR '1'='1",
    `${m.kidA}' --`,
    'k'.repeat(129),
    'k'.repeat(5000),
    null,
    7,
    [m.kidA],
    { kid: m.kidA },
    'k_doesnotexist000000000',
  ];
  for (const kid of kids)
    add(`kid ${JSON.stringify(kid).slice(0, 40)}`, withHeader({ ...header, kid }));
  const { kid: _kid, ...noKid } = header;
  add('kid missing', withHeader(noKid));

  // header members that must not be honoured
  const attacker = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const attackerJwk = attacker.publicKey.export({ format: 'jwk' });
  const extras: Record<string, unknown>[] = [
    { crit: ['exp'] },
    { crit: [] },
    { crit: ['b64'], b64: false },
    { jku: 'http://127.0.0.1:9/jwks.json' },
    { jwk: attackerJwk },
    { x5u: 'http://127.0.0.1:9/cert.pem' },
    { x5c: ['MIIB'] },
    { x5t: 'abc' },
    { cty: 'JWT' },
    { zip: 'DEF' },
    { enc: 'A256GCM' },
    { typ2: 'x' },
  ];
  for (const extra of extras) {
    const hd = { ...header, ...extra };
    add(`header ${Object.keys(extra).join('+') || 'proto'} (genuine signature)`, withHeader(hd));
    add(
      `header ${Object.keys(extra).join('+') || 'proto'} signed by an attacker key`,
      signWith(attacker.privateKey, hd, p),
    );
  }
  add(
    'embedded jwk, kid of the attacker',
    signWith(
      attacker.privateKey,
      { alg: 'ES256', typ: header.typ, kid: 'attacker', jwk: attackerJwk },
      p,
    ),
  );
  add("signed by an unknown key with A's kid", signWith(attacker.privateKey, header, p));
  add(
    '__proto__ member in the header',
    `${b64(`{"alg":"ES256","typ":${JSON.stringify(header.typ)},"kid":${JSON.stringify(m.kidA)},"__proto__":{"alg":"none"}}`)}.${p}.${s}`,
  );
  add(
    'duplicate alg member in the header',
    `${b64(`{"alg":"none","typ":${JSON.stringify(header.typ)},"kid":${JSON.stringify(m.kidA)},"alg":"ES256"}`)}.${p}.${s}`,
  );
  add(
    'duplicate kid member, signed',
    signWith(
      m.privateKeyA,
      b64(
        `{"alg":"ES256","typ":${JSON.stringify(header.typ)},"kid":${JSON.stringify(m.kidB)},"kid":${JSON.stringify(m.kidA)}}`,
      ),
      p,
    ),
  );
  for (const typ of ['JWT', 'jwt', 'app+jwt', 'at+jwt', 'BEARER+JWT', '', null, 1]) {
    add(`typ ${JSON.stringify(typ)}, signed`, signedA(claims, { ...header, typ }));
  }

  // signature encodings
  const r = sig.subarray(0, 32);
  const sPart = sig.subarray(32);
  const sigs: Record<string, Buffer | string> = {
    'high-s twin': highSTwin(sig),
    DER: toDer(sig),
    'DER of high-s twin': toDer(highSTwin(sig)),
    'truncated to 63 bytes': sig.subarray(0, 63),
    'truncated to 32 bytes': sig.subarray(0, 32),
    'one byte appended': Buffer.concat([sig, Buffer.from([0])]),
    'r = 0': Buffer.concat([Buffer.alloc(32), sPart]),
    's = 0': Buffer.concat([r, Buffer.alloc(32)]),
    'r = s = 0': Buffer.alloc(64),
    'r = n': Buffer.concat([bigToBytes(P256_N), sPart]),
    's = n': Buffer.concat([r, bigToBytes(P256_N)]),
    's + n (33 bytes)': Buffer.concat([
      r,
      bigToBytes(BigInt(`0x${sPart.toString('hex')}`) + P256_N),
    ]),
    'all ones': Buffer.alloc(64, 0xff),
    'r and s swapped': Buffer.concat([sPart, r]),
    'last bit flipped': Buffer.concat([
      sig.subarray(0, 63),
      Buffer.from([(sig[63] as number) ^ 1]),
    ]),
    'first bit flipped': Buffer.concat([Buffer.from([(sig[0] as number) ^ 0x80]), sig.subarray(1)]),
  };
  for (const [what, v] of Object.entries(sigs)) {
    add(`signature ${what}`, `${h}.${p}.${typeof v === 'string' ? v : v.toString('base64url')}`);
  }
  add('signature in standard base64', `${h}.${p}.${sig.toString('base64')}`);
  add('signature with = padding', `${h}.${p}.${s}=`);
  add(
    'signature with a non-canonical last character',
    `${h}.${p}.${s.slice(0, -1)}${s.endsWith('A') ? 'B' : s.endsWith('B') ? 'C' : 'A'}`,
  );
  add('signature of another token', `${h}.${p}.${parts(signedA({ ...claims, scope: 'x' }))[2]}`);
  add(
    'header in standard base64 with padding',
    `${Buffer.from(JSON.stringify(header)).toString('base64')}.${p}.${s}`,
  );
  add('payload with trailing space', `${h}.${b64(`${JSON.stringify(claims)} `)}.${s}`);

  // payload tampering with the genuine signature
  for (const [k, v] of Object.entries({
    scope: 'admin',
    exp: (claims.exp as number) + 1,
    cid: m.customerB,
    sub: 'root',
    jti: 'x',
  })) {
    add(`payload ${k} changed, genuine signature`, `${h}.${json({ ...claims, [k]: v })}.${s}`);
  }

  // claim types, times and customers, signed with A's real key
  const now = Math.floor(Date.now() / 1000);
  const bad: Record<string, Record<string, unknown>> = {
    'exp as string': { exp: String(claims.exp) },
    'exp as float': { exp: (claims.exp as number) + 0.5 },
    'exp 1e20': { exp: 1e20 },
    'exp negative': { exp: -1 },
    'exp in the past': { exp: now - 3600, iat: now - 7200 },
    'exp null': { exp: null },
    'iat as string': { iat: String(claims.iat) },
    'iat far in the future': { iat: now + 3600, exp: now + 7200 },
    'nbf in the future': { nbf: now + 3600 },
    'nbf as string': { nbf: String(now) },
    'cid of customer B': { cid: m.customerB },
    'cid upper case': { cid: m.customerA.toUpperCase() },
    'cid as array': { cid: [m.customerA] },
    'iss other': { iss: 'evil' },
    'aud as array': { aud: [claims.aud] },
    'aud other': { aud: 'other' },
    'scope as array': { scope: ['admin'] },
    'scope as number': { scope: 1 },
    'sub empty': { sub: '' },
    'sub as object': { sub: { id: 1 } },
    'jti malformed': { jti: 'abc' },
    'jti as number': { jti: 1 },
    'parent_jti missing': { parent_jti: undefined },
    'chain empty': { chain: [] },
    'chain not ending with parent_jti': { chain: ['1.AAAAAAAAAAAAAAAAAAAAAA'] },
    'chain as string': { chain: claims.parent_jti },
    'chain of 9': { chain: Array.from({ length: 9 }, () => claims.parent_jti) },
  };
  for (const [what, patch] of Object.entries(bad)) {
    const c: Record<string, unknown> = { ...claims, ...patch };
    for (const [k, v] of Object.entries(patch)) if (v === undefined) delete c[k];
    add(`claim ${what}, signed by A`, signedA(c));
  }
  for (const name of ['iss', 'aud', 'sub', 'iat', 'exp', 'jti', 'cid', 'scope']) {
    const c = { ...claims };
    delete c[name];
    add(`claim ${name} missing, signed by A`, signedA(c));
  }
  add('agent typ without act, signed by A', signedA(claims, { ...header, typ: 'agent+jwt' }));
  add(
    'subagent depth 9, signed by A',
    signedA({ ...claims, act: { sub: 'x' }, depth: 9 }, { ...header, typ: 'subagent+jwt' }),
  );
  add(
    'act as string, signed by A',
    signedA({ ...claims, act: 'x' }, { ...header, typ: 'agent+jwt' }),
  );
  add(
    'duplicate scope claim, signed by A',
    signWith(m.privateKeyA, header, b64(`${JSON.stringify(claims).slice(0, -1)},"scope":"admin"}`)),
  );
  add(
    'duplicate exp claim, signed by A',
    signWith(m.privateKeyA, header, b64(`{"exp":1,${JSON.stringify(claims).slice(1)}`)),
  );
  add('payload is an array, signed by A', signWith(m.privateKeyA, header, b64('[1]')));
  add('payload is not JSON, signed by A', signWith(m.privateKeyA, header, b64('not json')));
  add(
    'payload with a BOM, signed by A',
    signWith(m.privateKeyA, header, b64(`\ufeff${JSON.stringify(claims)}`)),
  );
  add(
    'payload in UTF-16, signed by A',
    signWith(
      m.privateKeyA,
      header,
      Buffer.from(JSON.stringify(claims), 'utf16le').toString('base64url'),
    ),
  );
  add(
    'payload with invalid UTF-8, signed by A',
    signWith(
      m.privateKeyA,
      header,
      Buffer.concat([
        Buffer.from(`${JSON.stringify(claims).slice(0, -1)},"x":"`),
        Buffer.from([0xff, 0xfe]),
        Buffer.from('"}'),
      ]).toString('base64url'),
    ),
  );
  add(
    'payload nested 1000 deep, signed by A',
    signWith(
      m.privateKeyA,
      header,
      b64(`${JSON.stringify(claims).slice(0, -1)},"x":${'['.repeat(1000)}${']'.repeat(1000)}}`),
    ),
  );
  add('payload of 9 KB, signed by A', signedA({ ...claims, pad: 'x'.repeat(9000) }));
  add('payload of 60 KB, signed by A', signedA({ ...claims, pad: 'x'.repeat(60_000) }));

  // another customer's key
  add(
    "A's claims signed by B's key with B's kid",
    signWith(m.privateKeyB, { ...header, kid: m.kidB }, p),
  );
  add("A's claims signed by B's key with A's kid", signWith(m.privateKeyB, header, p));
  add("B's cid signed by A's key with A's kid", signedA({ ...claims, cid: m.customerB }));
  add(
    "B's cid signed by A's key with B's kid",
    signedA({ ...claims, cid: m.customerB }, { ...header, kid: m.kidB }),
  );

  // shapes
  for (const [what, t] of Object.entries({
    'two parts': `${h}.${p}`,
    'four parts': `${h}.${p}.${s}.${s}`,
    'five parts (JWE shape)': `${h}..${p}.${s}.${s}`,
    'empty payload': `${h}..${s}`,
    'empty header': `.${p}.${s}`,
    'leading dot': `.${h}.${p}.${s}`,
    'whitespace inside': `${h}. ${p}.${s}`,
    'newline at end': `${m.bearerA}\n`,
    'space at end': `${m.bearerA} `,
    'unicode dots': `${h}\u3002${p}\u3002${s}`,
    'only dots': '..',
    empty: '',
    'JSON serialization': JSON.stringify({ protected: h, payload: p, signature: s }),
    'Bearer prefix inside': `Bearer ${m.bearerA}`,
    'token of 8193 bytes': `${h}.${b64('x'.repeat(6000))}.${s}`,
  })) {
    add(`shape: ${what}`, t);
  }

  // app tokens
  const app = m.appTokenA;
  add('app token upper-cased', app.toUpperCase());
  add(
    'app token with one character changed',
    `${app.slice(0, 20)}${app[20] === 'a' ? 'b' : 'a'}${app.slice(21)}`,
  );
  add('app token with a character appended', `${app}a`);
  add('app token truncated', app.slice(0, -1));
  add(
    'app token with the checksum recomputed over a changed body',
    (() => {
      const body = `${app.slice(0, 20)}${app[20] === 'a' ? 'b' : 'a'}${app.slice(21, -6)}`;
      let n = BigInt(crc32(body));
      let cs = '';
      const alphabet = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
      for (let i = 0; i < 6; i++) {
        cs = alphabet[Number(n % 62n)] + cs;
        n /= 62n;
      }
      return body + cs;
    })(),
  );
  add('app prefix alone', APP_TOKEN_PREFIX);
  add('app prefix with a JWS', `${APP_TOKEN_PREFIX}${m.bearerA}`);

  // random mutations of the genuine token: flip, insert, delete characters
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ ';
  for (let i = 0; i < randomCount; i++) {
    const chars = [...m.bearerA];
    const edits = 1 + Math.floor(Math.random() * 3);
    for (let e = 0; e < edits; e++) {
      const at = Math.floor(Math.random() * chars.length);
      const c = alphabet[Math.floor(Math.random() * alphabet.length)] as string;
      const kind = Math.random();
      if (kind < 0.6) chars[at] = c;
      else if (kind < 0.8) chars.splice(at, 0, c);
      else chars.splice(at, 1);
    }
    const t = chars.join('');
    if (t !== m.bearerA) add(`random mutation ${i}`, t);
  }
  return out;
}
