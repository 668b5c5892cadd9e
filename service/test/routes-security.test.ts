/**
 * Security cases over HTTP: forged, tampered, replayed and revoked tokens are never active, and
 * logs never carry a credential.
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { Writable } from 'node:stream';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/http/app.js';
import { logging } from '../src/worker.js';
import { createTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../../test/support/fixtures.js';

let s: TestStack;
let appA: string;
let appB: string;
beforeAll(async () => {
  s = await createTestStack();
  appA = (await s.appToken(['read', 'write'])).token;
  appB = (await s.appToken()).token;
});
afterAll(async () => s?.close());

const b64 = (v: unknown) =>
  Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function parts(token: string) {
  const [h, p, sig] = token.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(h, 'base64url').toString()) as Record<string, unknown>,
    payload: JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>,
    h,
    p,
    sig,
  };
}
const N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

async function inactive(token: string) {
  const res = await s.app.inject({ method: 'POST', url: '/v1/tokens/verify', payload: { token } });
  expect(res.statusCode).toBe(200);
  expect(res.json()).toEqual({ active: false });
}

describe('forged tokens are never active', () => {
  it('alg none, with or without a signature', async () => {
    const t = parts((await s.mint(appA, { kind: 'session' })).token);
    await inactive(`${b64({ ...t.header, alg: 'none' })}.${t.p}.`);
    await inactive(`${b64({ ...t.header, alg: 'none' })}.${t.p}.${t.sig}`);
  });

  it('HS256 signed with the public key as the HMAC secret', async () => {
    const t = parts((await s.mint(appA, { kind: 'session' })).token);
    const jwks = (await s.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{
      keys: { kid: string }[];
    }>();
    const jwk = jwks.keys.find((k) => k.kid === t.header.kid) as object;
    const pem = createPublicKey({ key: jwk as never, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [pem, JSON.stringify(jwk)]) {
      const h = b64({ ...t.header, alg: 'HS256' });
      const mac = createHmac('sha256', secret).update(`${h}.${t.p}`).digest('base64url');
      await inactive(`${h}.${t.p}.${mac}`);
    }
  });

  it("customer A's claims under customer B's kid, and B's signature on A's claims", async () => {
    const a = parts((await s.mint(appA, { kind: 'session' })).token);
    const b = parts((await s.mint(appB, { kind: 'session' })).token);
    await inactive(`${b64({ ...a.header, kid: b.header.kid })}.${a.p}.${a.sig}`);
    // B signs a payload that claims A's customer: the kid belongs to B, the cid to A.
    const forged = await s.mint(appB, { kind: 'session' });
    const f = parts(forged.token);
    await inactive(`${f.h}.${b64({ ...f.payload, cid: a.payload.cid })}.${f.sig}`);
  });

  it('a tampered payload (wider scope, later exp, other kind)', async () => {
    const t = parts((await s.mint(appA, { kind: 'session', scopes: ['read'] })).token);
    await inactive(`${t.h}.${b64({ ...t.payload, scope: 'read write' })}.${t.sig}`);
    await inactive(
      `${t.h}.${b64({ ...t.payload, exp: (t.payload.exp as number) + 3600 })}.${t.sig}`,
    );
    await inactive(`${b64({ ...t.header, typ: 'bearer+jwt' })}.${t.p}.${t.sig}`);
  });

  it('duplicate claim names, which parsers resolve differently', async () => {
    const t = parts((await s.mint(appA, { kind: 'session', scopes: ['read'] })).token);
    const dup = Buffer.from(
      Buffer.from(t.p, 'base64url').toString().replace(/}$/, ',"scope":"read write"}'),
    ).toString('base64url');
    await inactive(`${t.h}.${dup}.${t.sig}`);
    const dupHeader = b64(
      `{"alg":"ES256","alg":"none","typ":"session+jwt","kid":"${t.header.kid as string}"}`,
    );
    await inactive(`${dupHeader}.${t.p}.${t.sig}`);
  });

  it('headers that point elsewhere for the key (jku, jwk, x5u) or demand extensions (crit)', async () => {
    const t = parts((await s.mint(appA, { kind: 'session' })).token);
    for (const extra of [
      { jku: 'http://127.0.0.1/keys' },
      { jwk: { kty: 'EC' } },
      { x5u: 'http://127.0.0.1/x' },
      { crit: ['exp'] },
    ]) {
      await inactive(`${b64({ ...t.header, ...extra })}.${t.p}.${t.sig}`);
    }
  });

  it('an oversized token is inactive, and a huge body is refused before parsing', async () => {
    const t = (await s.mint(appA, { kind: 'session' })).token;
    await inactive(`${t}${'A'.repeat(9000)}`);
  });
});

describe('revocation keys on the token id, not its bytes', () => {
  it('the high-s twin of a revoked token signature is still revoked', async () => {
    const minted = await s.mint(appA, { kind: 'agent' });
    const t = parts(minted.token);
    const sig = Buffer.from(t.sig, 'base64url');
    const r = sig.subarray(0, 32);
    const sv = BigInt(`0x${sig.subarray(32).toString('hex')}`);
    const twin = Buffer.concat([
      r,
      Buffer.from((N - sv).toString(16).padStart(64, '0'), 'hex'),
    ]).toString('base64url');
    const rewritten = `${t.h}.${t.p}.${twin}`;
    // ECDSA is malleable: (r, n - s) is a second valid signature of the same token. Whether or not
    // the verifier accepts that spelling, revoking the token must end both.
    await s.app.inject({
      method: 'POST',
      url: '/v1/tokens/revoke',
      headers: { authorization: `Bearer ${appA}` },
      payload: { token: minted.token },
    });
    await inactive(minted.token);
    await inactive(rewritten);
  });
});

describe('an independent ES256 verifier (jose) accepts our tokens with only the JWKS', () => {
  it('verifies every signed kind and its typ against the published keys', async () => {
    const jwks = createLocalJWKSet(
      (await s.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json(),
    );
    for (const kind of ['bearer', 'agent', 'session', 'override'] as const) {
      const minted = await s.mint(appA, { kind, scopes: ['read'] });
      const { payload, protectedHeader } = await jwtVerify(minted.token, jwks, {
        algorithms: ['ES256'],
        typ: `${kind}+jwt`,
        requiredClaims: ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'cid', 'scope'],
      });
      expect(protectedHeader.kid).toBeTruthy();
      expect(payload.scope).toBe('read');
    }
  });
});

describe('signing key rotation', () => {
  it('publishes the new key, signs with it, and keeps verifying tokens of the old one', async () => {
    const { token, customerId } = await s.appToken();
    const before = await s.mint(token, { kind: 'bearer' });
    const res = await s.app.inject({
      method: 'POST',
      url: `/v1/customers/${customerId}/signing-keys/rotate`,
      headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
    });
    expect(res.statusCode).toBe(200);
    const { kid } = res.json<{ kid: string }>();
    const jwks = (await s.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json<{
      keys: { kid: string }[];
    }>();
    const kids = jwks.keys.map((k) => k.kid);
    expect(kids).toContain(kid);
    expect(kids).toContain(parts(before.token).header.kid);
    await new Promise((r) => setTimeout(r, 5100)); // workers pick up a new signing key within 5 s
    const after = await s.mint(token, { kind: 'bearer' });
    expect(parts(after.token).header.kid).toBe(kid);
    expect((await s.verify(before.token)).active).toBe(true);
    expect((await s.verify(after.token)).active).toBe(true);
  }, 15_000);

  it('stores private keys only as ciphertext bound to their customer and kid', async () => {
    const { customerId } = await s.appToken();
    const [row] = await s.sql<
      { kid: string; private_key_ct: Buffer; private_key_tag: Buffer; private_key_nonce: Buffer }[]
    >`
      SELECT kid, private_key_ct, private_key_tag, private_key_nonce FROM auth.signing_keys WHERE customer_id = ${customerId}`;
    expect(row?.private_key_tag).toHaveLength(16);
    expect(row?.private_key_nonce).toHaveLength(12);
    // PKCS#8 DER of an EC key starts with 0x30 0x81 0x87 and contains the P-256 OID.
    expect(row?.private_key_ct.includes(Buffer.from('2a8648ce3d030107', 'hex'))).toBe(false);
    // Moving the row to another customer makes it unusable.
    const other = await s.customer();
    await s.sql`UPDATE auth.signing_keys SET customer_id = ${other} WHERE kid = ${row?.kid as string}`;
    await expect(s.core.keys.signingKey(other)).rejects.toThrow();
  });
});

describe('logs', () => {
  it('never contain a token, an authorization header or the admin token', async () => {
    const lines: string[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(chunk.toString());
        cb();
      },
    });
    // As a worker logs: Fastify's logger and the access log on one destination.
    const logged = await buildApp(s.core, {
      ...logging({ ...s.config, logLevel: 'trace' }, stream),
      rateLimitPrefix: `${s.prefix}:rl2`,
    });
    try {
      const minted = await logged.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { authorization: `Bearer ${appA}` },
        payload: { kind: 'session' },
      });
      const token = minted.json<{ token: string }>().token;
      await logged.inject({ method: 'POST', url: '/v1/tokens/verify', payload: { token } });
      await logged.inject({
        method: 'POST',
        url: '/v1/tokens/verify',
        payload: { token: `${token}x` },
      });
      await logged.inject({
        method: 'POST',
        url: '/v1/tokens',
        headers: { authorization: `Bearer ${token}x` },
        payload: { kind: 'override' },
      });
      const id = await s.customer();
      await logged.inject({
        method: 'POST',
        url: `/v1/customers/${id}/app-tokens`,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        payload: {},
      });
      await logged.inject({ method: 'GET', url: `/v1/tokens/${token}/anything?token=${token}` });
      const all = lines.join('');
      expect(lines.length).toBeGreaterThan(4);
      expect(all).not.toContain(token.split('.')[2] as string);
      expect(all).not.toContain(appA);
      expect(all).not.toContain(TEST_ADMIN_TOKEN);
      expect(all).not.toMatch(/quint_app_[0-9A-Za-z]{20}/);
      expect(all).not.toMatch(/bearer +[A-Za-z0-9_-]{8}/i);
    } finally {
      await logged.close();
    }
  });

  it('one access line per request, with its request id; none for /health below warn', async () => {
    const lines: Record<string, unknown>[] = [];
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        lines.push(
          ...chunk
            .toString()
            .trim()
            .split('\n')
            .map((l) => JSON.parse(l) as never),
        );
        cb();
      },
    });
    const logged = await buildApp(s.core, {
      ...logging({ ...s.config, logLevel: 'info' }, stream),
      rateLimitPrefix: `${s.prefix}:rl3`,
    });
    try {
      await logged.inject({ method: 'GET', url: '/health' });
      await logged.inject({
        method: 'POST',
        url: '/v1/tokens/verify?x=1',
        headers: { 'x-request-id': 'abc-1' },
        payload: { token: 'x.y.z' },
      });
      expect(lines).toEqual([
        expect.objectContaining({
          level: 30,
          reqId: 'abc-1',
          method: 'POST',
          path: '/v1/tokens/verify',
          status: 200,
          ms: expect.any(Number) as number,
          msg: 'request',
          pid: process.pid,
        }),
      ]);
    } finally {
      await logged.close();
    }
  });
});

describe('response headers', () => {
  const security = {
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'no-referrer',
    'content-security-policy': "default-src 'none'; frame-ancestors 'none'",
    'cross-origin-resource-policy': 'same-origin',
  };

  it('every kind of answer carries the security headers, its request id and no-store', async () => {
    const minted = await s.mint(appA, { kind: 'session' });
    const answers = [
      // active (twice: the second answer is the remembered one), inactive, a problem, a 413
      { method: 'POST' as const, url: '/v1/tokens/verify', payload: { token: minted.token } },
      { method: 'POST' as const, url: '/v1/tokens/verify', payload: { token: minted.token } },
      { method: 'POST' as const, url: '/v1/tokens/verify', payload: { token: 'x.y.z' } },
      { method: 'POST' as const, url: '/v1/tokens/verify', payload: { nothing: 1 } },
      { method: 'POST' as const, url: '/v1/tokens/verify', payload: { token: 'a'.repeat(20_000) } },
      { method: 'GET' as const, url: '/health' },
      { method: 'GET' as const, url: '/no-such-route' },
      {
        method: 'POST' as const,
        url: '/v1/tokens/verify',
        payload: 'token=x',
        headers: { 'content-type': 'text/plain' },
      },
    ];
    const statuses: number[] = [];
    for (const [i, a] of answers.entries()) {
      const res = await s.app.inject({
        ...a,
        headers: { ...('headers' in a ? a.headers : {}), 'x-request-id': `r-${i}` },
      });
      statuses.push(res.statusCode);
      expect(res.headers).toMatchObject({
        ...security,
        'x-request-id': `r-${i}`,
        'cache-control': 'no-store',
      });
      expect(res.headers['strict-transport-security']).toBeUndefined(); // not production
      expect(String(res.headers['content-type'])).toMatch(/^application\/(problem\+)?json/);
    }
    expect(statuses).toEqual([200, 200, 200, 400, 413, 200, 404, 415]);
  });

  it('generated request ids are random: no counter in them, across a refill of their pool', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 600; i++) {
      const res = await s.app.inject({ method: 'GET', url: '/no-such-route' });
      ids.push(String(res.headers['x-request-id']));
    }
    expect(new Set(ids).size).toBe(ids.length);
    // Each hex digit position takes many values across ids: a counter's high digits would not.
    for (let at = 0; at < 32; at++) {
      expect(new Set(ids.map((id) => id[at])).size).toBeGreaterThan(8);
    }
  });

  it('a request without a usable x-request-id gets an id of its own, never one given before', async () => {
    const other = await buildApp(s.core, { rateLimitPrefix: `${s.prefix}:ids` });
    try {
      const ids: string[] = [];
      for (const app of [s.app, other, s.app, other]) {
        for (const given of [undefined, 'has space', 'x'.repeat(65)]) {
          const res = await app.inject({
            method: 'GET',
            url: '/health',
            headers: given === undefined ? {} : { 'x-request-id': given },
          });
          ids.push(String(res.headers['x-request-id']));
        }
      }
      expect(new Set(ids).size).toBe(ids.length);
      for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    } finally {
      await other.close();
    }
  });

  it('the remembered verify answer is the same as the first, byte for byte', async () => {
    const { token } = await s.mint(appA, { kind: 'session' });
    const bodies = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const res = await s.app.inject({
        method: 'POST',
        url: '/v1/tokens/verify',
        payload: { token },
      });
      expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
      bodies.add(res.body);
    }
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0]!)).toMatchObject({ active: true, kind: 'session' });
  });

  it('JWKS may be cached for a minute; HSTS is sent in production', async () => {
    const jwks = await s.app.inject({ method: 'GET', url: '/.well-known/jwks.json' });
    expect(jwks.headers).toMatchObject({ ...security, 'cache-control': 'public, max-age=60' });
    const production = await buildApp({
      ...s.core,
      config: { ...s.core.config, env: 'production' },
    });
    try {
      const res = await production.inject({ method: 'GET', url: '/health' });
      expect(res.headers['strict-transport-security']).toBe('max-age=63072000; includeSubDomains');
    } finally {
      await production.close();
    }
  });
});
