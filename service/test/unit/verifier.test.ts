/**
 * TokenVerifier against in-memory stores and a fake clock: the security cases of issue 2 for
 * signed tokens and app tokens. Refusals are built from a token that verifies (each describe's
 * controls show it), changed in one respect, so each test fails if the check it names is missing.
 */
import { createHmac } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { signEs256 } from '../../src/crypto/es256.js';
import { DependencyUnavailableError } from '../../src/errors.js';
import { generateAppToken } from '../../src/tokens/app-token-format.js';
import { planChild } from '../../src/tokens/delegation.js';
import { newTokenId } from '../../src/tokens/ids.js';
import { JWT_KINDS } from '../../src/tokens/kinds.js';
import type { Principal } from '../../src/tokens/principal.js';
import { SeenBefore, TokenVerifier } from '../../src/tokens/verifier.js';
import {
  AUDIENCE,
  b64json,
  codeOf,
  DEFAULT_TTLS,
  FakeClock,
  FakeStores,
  highSTwin,
  ISSUER,
  MAX_TOKEN_BYTES,
  newCustomer,
  signToken,
  SKEW,
  T0,
  validClaims,
  verifierOptions,
  type Customer,
} from './helpers.js';

let clock: FakeClock;
let stores: FakeStores;
let verifier: TokenVerifier;
let a: Customer;
let b: Customer;

beforeEach(() => {
  clock = new FakeClock();
  stores = new FakeStores();
  a = newCustomer();
  b = newCustomer();
  stores.addCustomer(a);
  stores.addCustomer(b);
  verifier = new TokenVerifier(stores, verifierOptions(clock));
});

/** Customer A's valid `bearer` token with `edit` applied to its claims. */
function bearerOfA(edit: (c: Record<string, unknown>) => void = () => {}): string {
  const claims = validClaims('bearer', a.id, T0);
  edit(claims);
  return signToken('bearer', claims, a.kid, a.keys.privateKey);
}

function replaceSignature(token: string, signature: Buffer): string {
  return `${token.split('.').slice(0, 2).join('.')}.${signature.toString('base64url')}`;
}

describe('accepts', () => {
  it.each(JWT_KINDS)('a good %s token, returning its claims as a principal', async (kind) => {
    const claims = validClaims(kind, a.id, T0);
    const p = await verifier.authenticate(signToken(kind, claims, a.kid, a.keys.privateKey), kind);
    expect(p).toMatchObject({
      kind,
      jti: claims.jti,
      cid: a.id,
      sub: 'user-1',
      scopes: ['read', 'write'],
      exp: claims.exp,
      chain: claims.chain,
      kid: a.kid,
    });
    if (kind === 'agent' || kind === 'subagent') expect(p.act).toEqual(claims.act);
    if (kind === 'subagent') expect(p.depth).toBe(1);
  });

  it('tokens presented again, each as itself, however many are in use', async () => {
    // More than the verifier keeps by their string, presented three times over, interleaved.
    const tokens = Array.from({ length: 300 }, () => bearerOfA());
    for (let round = 0; round < 3; round++) {
      for (const t of round === 1 ? [...tokens].reverse() : tokens) {
        const p = await verifier.authenticate(t);
        expect(p.jti).toBe(JSON.parse(Buffer.from(t.split('.')[1]!, 'base64url').toString()).jti);
      }
    }
    // A kind check still applies to a remembered token.
    expect(await codeOf(() => verifier.authenticate(tokens[0]!, 'agent'))).toBe('invalid_token');
  });

  it('every kind planChild mints, chained from one app token, once signed', async () => {
    const ctx = { ttls: DEFAULT_TTLS, issuer: ISSUER, audience: AUDIENCE, now: T0 };
    const app: Principal = {
      kind: 'app',
      jti: newTokenId(T0 + DEFAULT_TTLS.app),
      cid: a.id,
      sub: 'svc',
      scopes: null,
      iat: T0,
      exp: T0 + DEFAULT_TTLS.app,
      chain: [],
      depth: 0,
    };
    let parent = app;
    for (const kind of [
      'bearer',
      'agent',
      'subagent',
      'subagent',
      'subagent',
      'subagent',
    ] as const) {
      const claims = planChild(parent, { kind, scopes: ['read'] }, ctx);
      const p = await verifier.authenticate(
        signToken(kind, claims, a.kid, a.keys.privateKey),
        kind,
      );
      expect(p).toMatchObject({ kind, jti: claims.jti, chain: claims.chain });
      parent = p;
    }
    expect(parent.depth).toBe(4);
    expect(parent.chain).toHaveLength(6);
  });
});

describe('refuses forged signed tokens', () => {
  it('alg none with no signature', async () => {
    const [, p] = bearerOfA().split('.');
    const t = `${b64json({ alg: 'none', typ: 'bearer+jwt', kid: a.kid })}.${p}.`;
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
    expect(stores.calls.publicKey).toBe(0);
  });

  it('HS256 MACed with the public key’s bytes (SPKI PEM, DER and JWK forms)', async () => {
    const [, p] = bearerOfA().split('.');
    const input = `${b64json({ alg: 'HS256', typ: 'bearer+jwt', kid: a.kid })}.${p}`;
    const secrets = [
      a.keys.publicKey.export({ format: 'pem', type: 'spki' }),
      a.keys.publicKey.export({ format: 'der', type: 'spki' }),
      JSON.stringify(a.keys.publicKey.export({ format: 'jwk' })),
    ];
    for (const secret of secrets) {
      const mac = createHmac('sha256', secret).update(input).digest('base64url');
      expect(await codeOf(() => verifier.authenticate(`${input}.${mac}`))).toBe('invalid_token');
    }
  });

  it('a remembered token’s signature under another payload, however often it was presented', async () => {
    const good = bearerOfA();
    // Presented four times: verified, cached, then kept by its signature's bits and answered
    // from there.
    for (let i = 0; i < 4; i++) await verifier.authenticate(good);
    const [h, , sig] = good.split('.') as [string, string, string];
    const [, other] = bearerOfA((c) => (c.scope = 'admin')).split('.');
    const forged = `${h}.${other}.${sig}`;
    expect(await codeOf(() => verifier.authenticate(forged))).toBe('invalid_token');
    // The remembered token itself is still answered.
    expect((await verifier.authenticate(good)).scopes).toEqual(['read', 'write']);
  });

  it('customer A’s claims signed with B’s key under B’s kid', async () => {
    const claims = validClaims('bearer', a.id, T0);
    const t = signToken('bearer', claims, b.kid, b.keys.privateKey);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
    // Control: the same signer and kid with B's own customer id is fine.
    const own = signToken('bearer', { ...claims, cid: b.id }, b.kid, b.keys.privateKey);
    expect((await verifier.authenticate(own)).cid).toBe(b.id);
  });

  it('customer A’s claims signed with A’s key but naming B’s kid', async () => {
    const t = signToken('bearer', validClaims('bearer', a.id, T0), b.kid, a.keys.privateKey);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it('B’s claims under B’s kid but signed with A’s key', async () => {
    const t = signToken('bearer', validClaims('bearer', b.id, T0), b.kid, a.keys.privateKey);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it('an unknown kid', async () => {
    const t = signToken(
      'bearer',
      validClaims('bearer', a.id, T0),
      'no-such-kid',
      a.keys.privateKey,
    );
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it('a tampered payload (scope widened) under the original signature', async () => {
    const good = bearerOfA();
    const [h, , s] = good.split('.');
    const claims = validClaims('bearer', a.id, T0);
    const widened = b64json({ ...claims, scope: 'read write admin' });
    expect(await codeOf(() => verifier.authenticate(`${h}.${widened}.${s}`))).toBe('invalid_token');
    await expect(verifier.authenticate(good)).resolves.toMatchObject({ kind: 'bearer' });
  });

  it('a tampered header (typ switched to agent) under the original signature', async () => {
    const claims = validClaims('agent', a.id, T0);
    const asSession = signToken('session', claims, a.kid, a.keys.privateKey);
    const [, p, s] = asSession.split('.');
    const t = `${b64json({ alg: 'ES256', typ: 'agent+jwt', kid: a.kid })}.${p}.${s}`;
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it('duplicate claim names, even when correctly signed', async () => {
    const claims = validClaims('bearer', a.id, T0);
    const json = JSON.stringify(claims).replace(/}$/, ',"scope":"admin"}');
    const header = b64json({ alg: 'ES256', typ: 'bearer+jwt', kid: a.kid });
    const input = `${header}.${Buffer.from(json).toString('base64url')}`;
    const t = `${input}.${signEs256(a.keys.privateKey, input).toString('base64url')}`;
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it('a token over the size cap, though well signed; one under the cap verifies', async () => {
    const small = new TokenVerifier(stores, verifierOptions(clock, { maxTokenBytes: 1024 }));
    const padded = (n: number) => bearerOfA((c) => (c.sub = 'u'.repeat(n)));
    const under = padded(10);
    expect(under.length).toBeLessThan(1024);
    await expect(small.authenticate(under)).resolves.toMatchObject({ kind: 'bearer' });
    const over = padded(1024);
    expect(await codeOf(() => small.authenticate(over))).toBe('invalid_token');
  });

  it('the default cap refuses a token past 8192 bytes', async () => {
    const over = bearerOfA((c) => (c.sub = 'u'.repeat(MAX_TOKEN_BYTES)));
    expect(await codeOf(() => verifier.authenticate(over))).toBe('invalid_token');
  });
});

describe('refuses tokens missing a required claim', () => {
  const common = ['iss', 'sub', 'aud', 'iat', 'exp', 'jti', 'cid', 'scope', 'parent_jti', 'chain'];
  const cases = [
    ...common.map((claim) => ['bearer', claim] as const),
    ['agent', 'act'] as const,
    ['subagent', 'act'] as const,
    ['subagent', 'depth'] as const,
  ];

  it.each(cases)('a %s token without %s', async (kind, claim) => {
    const claims = validClaims(kind, a.id, T0);
    // Control first: the complete claims verify.
    await verifier.authenticate(signToken(kind, claims, a.kid, a.keys.privateKey));
    delete claims[claim];
    const t = signToken(kind, claims, a.kid, a.keys.privateKey);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it.each([
    ['exp as a string', { exp: String(T0 + 600) }],
    ['exp as a fraction', { exp: T0 + 600.5 }],
    ['iat negative', { iat: -1 }],
    ['nbf as a string', { nbf: String(T0) }],
    ['cid not a UUID', { cid: 'customer-a' }],
    ['jti not one of our ids', { jti: 'abc' }],
    ['iss of another issuer', { iss: 'https://evil.example' }],
    ['aud as an array', { aud: [AUDIENCE] }],
    ['another audience', { aud: 'other-service' }],
    ['scope as an array', { scope: ['read'] }],
    ['an empty sub', { sub: '' }],
    ['an empty chain', { chain: [] }],
    ['a chain not ending in parent_jti', { chain: [newTokenId(T0)] }],
  ])('a bearer token with %s', async (_what, override) => {
    const t = bearerOfA((c) => Object.assign(c, override));
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });

  it.each([0, 5])('a subagent token with depth %i', async (depth) => {
    const claims = { ...validClaims('subagent', a.id, T0), depth };
    const t = signToken('subagent', claims, a.kid, a.keys.privateKey);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
  });
});

describe('kind', () => {
  it('refuses a token of another kind than the one expected', async () => {
    const t = bearerOfA();
    expect(await codeOf(() => verifier.authenticate(t, 'agent'))).toBe('invalid_token');
    expect(await codeOf(() => verifier.authenticate(t, 'app'))).toBe('invalid_token');
    await expect(verifier.authenticate(t, 'bearer')).resolves.toMatchObject({ kind: 'bearer' });
  });

  it.each(['JWT', 'app+jwt', 'admin+jwt'])('refuses typ %s', async (typ) => {
    const claims = validClaims('bearer', a.id, T0);
    const header = b64json({ alg: 'ES256', typ, kid: a.kid });
    const payload = b64json(claims);
    const sig = signEs256(a.keys.privateKey, `${header}.${payload}`).toString('base64url');
    expect(await codeOf(() => verifier.authenticate(`${header}.${payload}.${sig}`))).toBe(
      'invalid_token',
    );
  });
});

describe('time, on the fake clock with a 30-second skew', () => {
  it('accepts a token up to the skew past exp and refuses it from then on', async () => {
    const t = bearerOfA((c) => (c.exp = T0 + 600));
    clock.seconds = T0 + 600 + SKEW - 1;
    await expect(verifier.authenticate(t)).resolves.toMatchObject({ kind: 'bearer' });
    clock.seconds = T0 + 600 + SKEW;
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_expired');
    clock.advance(86_400);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_expired');
  });

  it('refuses a token whose nbf is beyond the skew, and accepts it within', async () => {
    const t = bearerOfA((c) => (c.nbf = T0 + SKEW + 1));
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
    clock.advance(1);
    await expect(verifier.authenticate(t)).resolves.toMatchObject({ kind: 'bearer' });
  });

  it('treats iat as not-before when there is no nbf', async () => {
    const t = bearerOfA((c) => {
      delete c.nbf;
      c.iat = T0 + 120;
    });
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
    clock.seconds = T0 + 120 - SKEW;
    await expect(verifier.authenticate(t)).resolves.toMatchObject({ kind: 'bearer' });
  });

  it('refuses a token issued beyond the skew in the future even if its nbf has passed', async () => {
    const t = bearerOfA((c) => {
      c.nbf = T0 - 60;
      c.iat = T0 + SKEW + 1;
    });
    expect(await codeOf(() => verifier.authenticate(t))).toBe('invalid_token');
    clock.advance(1);
    await expect(verifier.authenticate(t)).resolves.toMatchObject({ kind: 'bearer' });
  });

  it('re-checks time on every call, even for a token it remembers', async () => {
    const t = bearerOfA((c) => (c.exp = T0 + 60));
    // Four times: remembered by digest after the second, by its string after the third.
    for (let i = 0; i < 4; i++) await verifier.authenticate(t);
    clock.advance(60 + SKEW);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_expired');
  });

  it('lets revocation accept an expired token only when asked to', async () => {
    const t = bearerOfA((c) => (c.exp = T0 - 3600));
    await expect(verifier.inspect(t, { allowExpired: true })).resolves.toMatchObject({
      kind: 'bearer',
    });
    expect(await codeOf(() => verifier.inspect(t))).toBe('token_expired');
  });
});

describe('revocation keys on jti and covers ancestors', () => {
  it('refuses the high-s twin of a token outright, revoked or not', async () => {
    const t = bearerOfA();
    const jti = (await verifier.authenticate(t)).jti;
    const twin = replaceSignature(
      t,
      highSTwin(Buffer.from(t.split('.')[2] as string, 'base64url')),
    );
    expect(twin).not.toBe(t);
    // (r, n − s) is valid ECDSA (es256.test.ts); the token layer accepts only the low s.
    expect(await codeOf(() => verifier.authenticate(twin))).toBe('invalid_token');
    stores.revoked.add(jti);
    expect(await codeOf(() => verifier.authenticate(twin))).not.toBe('token_revoked');
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_revoked');
  });

  it('revokes by jti: every valid spelling of the same claims is refused once the jti is revoked', async () => {
    // ECDSA signing is randomised, so signing the same claims twice gives two valid token strings.
    const claims = validClaims('bearer', a.id, T0);
    const first = signToken('bearer', claims, a.kid, a.keys.privateKey);
    const second = signToken('bearer', claims, a.kid, a.keys.privateKey);
    expect(second).not.toBe(first);
    await verifier.authenticate(first);
    await verifier.authenticate(second);
    stores.revoked.add(claims.jti as string);
    expect(await codeOf(() => verifier.authenticate(first))).toBe('token_revoked');
    expect(await codeOf(() => verifier.authenticate(second))).toBe('token_revoked');
  });

  it('asks about revocation on every call, even for a token it remembers', async () => {
    const t = bearerOfA();
    const { jti } = await verifier.authenticate(t);
    await verifier.authenticate(t);
    await verifier.authenticate(t);
    stores.revoked.add(jti);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_revoked');
  });

  it('refuses a child when any ancestor is revoked: the app token, or the parent', async () => {
    const claims = validClaims('subagent', a.id, T0);
    const t = signToken('subagent', claims, a.kid, a.keys.privateKey);
    const [appId, agentId] = claims.chain as [string, string];
    await verifier.authenticate(t);
    stores.revoked.add(appId);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_revoked');
    stores.revoked.clear();
    stores.revoked.add(agentId);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_revoked');
  });

  it('does not let a revoked child affect its parent or siblings', async () => {
    const parentId = newTokenId(T0 + 3600);
    const child = bearerOfA((c) => {
      c.parent_jti = parentId;
      c.chain = [parentId];
    });
    const sibling = bearerOfA((c) => {
      c.parent_jti = parentId;
      c.chain = [parentId];
    });
    stores.revoked.add((await verifier.authenticate(child)).jti);
    await expect(verifier.authenticate(sibling)).resolves.toMatchObject({ kind: 'bearer' });
  });

  it('answers dependency_unavailable, never a principal, when revocation cannot be established', async () => {
    const t = bearerOfA();
    await verifier.authenticate(t);
    stores.revocationUnavailable = new DependencyUnavailableError('postgres', 'down');
    expect(await codeOf(() => verifier.authenticate(t))).toBe('dependency_unavailable');
  });

  it('skips the revocation question only when told to', async () => {
    const t = bearerOfA();
    const { jti } = await verifier.authenticate(t);
    stores.revoked.add(jti);
    await expect(verifier.inspect(t, { skipRevocation: true })).resolves.toMatchObject({ jti });
  });
});

describe('stores that answer at once rather than with a promise', () => {
  let atOnce: FakeStores;
  let v: TokenVerifier;
  beforeEach(() => {
    atOnce = new FakeStores({ answerAtOnce: true });
    atOnce.addCustomer(a);
    v = new TokenVerifier(atOnce, verifierOptions(clock));
  });

  it('accept a valid token, first seen and presented again, and refuse it once revoked', async () => {
    const t = bearerOfA();
    const first = await v.authenticate(t);
    expect(first).toMatchObject({ kind: 'bearer', cid: a.id });
    await expect(v.authenticate(t)).resolves.toBe(await v.authenticate(t));
    atOnce.revoked.add(first.jti);
    expect(await codeOf(() => v.authenticate(t))).toBe('token_revoked');
  });

  it('refuse an unknown kid, a bad signature and an unreachable revocation store by rejecting, never throwing', async () => {
    const t = bearerOfA();
    const unknownKid = signToken(
      'bearer',
      validClaims('bearer', a.id, T0),
      'k-nobody',
      a.keys.privateKey,
    );
    const forged = replaceSignature(t, signEs256(b.keys.privateKey, 'other input'));
    for (const token of [unknownKid, forged, 'not.a.token']) {
      const answer = v.authenticate(token);
      expect(answer).toBeInstanceOf(Promise);
      expect(await codeOf(() => answer)).toBe('invalid_token');
    }
    atOnce.revocationUnavailable = new DependencyUnavailableError('postgres', 'down');
    const answer = v.authenticate(t);
    expect(answer).toBeInstanceOf(Promise);
    expect(await codeOf(() => answer)).toBe('dependency_unavailable');
  });
});

describe('app tokens', () => {
  function addApp(overrides: Partial<Parameters<FakeStores['addAppToken']>[1]> = {}): string {
    const token = generateAppToken();
    stores.addAppToken(token, {
      id: newTokenId(T0 + DEFAULT_TTLS.app),
      customerId: a.id,
      subject: 'svc',
      scopes: null,
      issuedAt: T0 - 10,
      expiresAt: T0 + DEFAULT_TTLS.app,
      revoked: false,
      ...overrides,
    });
    return token;
  }

  it('accepts a stored app token as an app principal with its scopes', async () => {
    const t = addApp({ scopes: ['read'] });
    await expect(verifier.authenticate(t, 'app')).resolves.toMatchObject({
      kind: 'app',
      cid: a.id,
      scopes: ['read'],
      chain: [],
    });
  });

  it('refuses a one-character typo from its checksum alone, without asking the store', async () => {
    const t = addApp();
    const i = t.length - 10;
    const typo = t.slice(0, i) + (t[i] === 'a' ? 'b' : 'a') + t.slice(i + 1);
    expect(await codeOf(() => verifier.authenticate(typo))).toBe('invalid_token');
    expect(stores.calls.appToken).toBe(0);
  });

  it('refuses a well-formed app token the store does not know', async () => {
    addApp();
    expect(await codeOf(() => verifier.authenticate(generateAppToken()))).toBe('invalid_token');
  });

  it('refuses a revoked app token', async () => {
    expect(await codeOf(() => verifier.authenticate(addApp({ revoked: true })))).toBe(
      'token_revoked',
    );
  });

  it('refuses an app token whose id is in the revocation store', async () => {
    const id = newTokenId(T0 + 1000);
    const t = addApp({ id });
    stores.revoked.add(id);
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_revoked');
  });

  it('refuses an expired app token, beyond the skew', async () => {
    const t = addApp({ expiresAt: T0 - SKEW });
    expect(await codeOf(() => verifier.authenticate(t))).toBe('token_expired');
    const fresh = addApp({ expiresAt: T0 - SKEW + 1 });
    await expect(verifier.authenticate(fresh)).resolves.toMatchObject({ kind: 'app' });
  });

  it('refuses an app token where a signed kind is expected', async () => {
    expect(await codeOf(() => verifier.authenticate(addApp(), 'bearer'))).toBe('invalid_token');
  });
});

describe('what the verifier remembers', () => {
  it('a token from its second verification on: the first two check it in full, later ones do not', async () => {
    const t = bearerOfA();
    const lookups = [];
    for (let i = 0; i < 4; i++) {
      await verifier.authenticate(t);
      lookups.push(stores.calls.publicKey);
    }
    expect(lookups).toEqual([1, 2, 2, 2]);
  });

  it('says which principals it keeps: the one a token gives from its second verification on', async () => {
    const t = bearerOfA();
    const first = await verifier.authenticate(t);
    expect(verifier.remembers(first)).toBe(false);
    const second = await verifier.authenticate(t);
    expect(verifier.remembers(second)).toBe(true);
    expect(await verifier.authenticate(t)).toBe(second);
    expect(await verifier.authenticate(t)).toBe(second);
  });

  it('nothing of a token presented once, however many there are', async () => {
    const tokens = Array.from({ length: 50 }, () => bearerOfA());
    for (const t of tokens) await verifier.authenticate(t);
    // Each presented again is checked in full a second time: none was kept after its first.
    for (const t of tokens) await verifier.authenticate(t);
    expect(stores.calls.publicKey).toBe(100);
  });

  it("a remembered token's signature under other claims is checked in full, and refused", async () => {
    const t = bearerOfA();
    await verifier.authenticate(t);
    await verifier.authenticate(t); // remembered now
    const [h, , sig] = t.split('.');
    const other = bearerOfA((c) => (c.scope = 'admin')).split('.')[1];
    const before = stores.calls.publicKey;
    expect(await codeOf(() => verifier.authenticate(`${h}.${other}.${sig}`))).toBe('invalid_token');
    expect(stores.calls.publicKey).toBe(before + 1);
    await expect(verifier.authenticate(t)).resolves.toMatchObject({ kind: 'bearer' });
    expect(stores.calls.publicKey).toBe(before + 1);
  });
});

describe('SeenBefore', () => {
  const digest = (i: number) =>
    Buffer.from(createHmac('sha256', 'k').update(String(i)).digest()).toString('base64url');

  it('says no the first time and yes after, for each item', () => {
    const seen = new SeenBefore(10_000);
    const first = Array.from({ length: 1000 }, (_, i) => seen.add(digest(i), 0));
    const again = Array.from({ length: 1000 }, (_, i) => seen.add(digest(i), 0));
    expect(first.filter(Boolean).length).toBeLessThan(5);
    expect(again.every(Boolean)).toBe(true);
  });

  it('has() looks without adding', () => {
    const seen = new SeenBefore(10_000);
    const unseen = Array.from({ length: 1000 }, (_, i) => seen.has(digest(i), 0));
    expect(unseen.filter(Boolean).length).toBeLessThan(5);
    expect(Array.from({ length: 1000 }, (_, i) => seen.has(digest(i), 0))).toEqual(unseen);
    seen.add(digest(7), 0);
    expect(seen.has(digest(7), 0)).toBe(true);
  });

  it('reads the item from where it is told: the rest of the text does not count', () => {
    const seen = new SeenBefore(10_000);
    seen.add(`header.payload.${digest(1)}`, 15);
    expect(seen.has(`others.claims!.${digest(1)}`, 15)).toBe(true);
    expect(seen.has(`header.payload.${digest(2)}`, 15)).toBe(false);
  });

  it('forgets everything once it has recorded as many items as it was made for', () => {
    const seen = new SeenBefore(100);
    for (let i = 0; i < 99; i++) seen.add(digest(i), 0);
    expect(seen.add(digest(0), 0)).toBe(true);
    seen.add(digest(99), 0); // the hundredth new one
    expect(seen.has(digest(0), 0)).toBe(false);
    expect(seen.add(digest(0), 0)).toBe(false);
  });

  it('says yes for anything that is not ten base64url characters (the cache then behaves as before)', () => {
    const seen = new SeenBefore(100);
    expect(seen.add('not.base64url!', 0)).toBe(true);
    expect(seen.has('not.base64url!', 0)).toBe(true);
    expect(seen.has('', 0)).toBe(true);
    expect(seen.has(digest(1), -1)).toBe(true);
    expect(seen.has(digest(1), 40)).toBe(true);
  });
});
