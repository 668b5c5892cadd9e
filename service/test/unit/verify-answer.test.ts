/**
 * The verify route writes its answer with JSON.stringify rather than the route's response schema
 * (routes/tokens.ts). This checks, for principals of every shape, that the text is byte for byte
 * what Fastify's compiled schema (fast-json-stringify) gives for the same view.
 */
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { introspection } from '../../src/http/routes/tokens.js';
import { VerifyResponse } from '../../src/http/schemas.js';
import type { Principal } from '../../src/tokens/principal.js';

const core = { config: { issuer: 'https://auth.quint.test', audience: 'quint-api' } } as never;
const app = Fastify();
let current: Principal;
app.get('/', { schema: { response: { 200: VerifyResponse } } }, async () =>
  introspection(current, core),
);
beforeAll(() => app.ready());
afterAll(() => app.close());

async function bySchema(p: Principal): Promise<string> {
  current = p;
  return (await app.inject({ method: 'GET', url: '/' })).body;
}

const base: Principal = {
  kind: 'agent',
  jti: 'k1.AAAAAAAAAAAAAAAAAAAAAA',
  cid: '3f1c2d4e-1111-4222-8333-444455556666',
  sub: 'planner',
  scopes: ['tokens:mint', 'agents:run'],
  iat: 1_764_390_000,
  exp: 1_764_400_000,
  chain: ['app.BBBBBBBBBBBBBBBBBBBBBB', 'x1.CCCCCCCCCCCCCCCCCCCCCC'],
  act: { sub: 'orchestrator' },
  depth: 0,
  kid: 'k_0123456789',
};

describe('the verify answer', () => {
  it.each<[string, Principal]>([
    ['an agent', base],
    [
      'an app token (no chain, act or kid; scopes null)',
      { ...base, kind: 'app', chain: [], act: undefined, kid: undefined, scopes: null },
    ],
    [
      'a subagent two deep',
      {
        ...base,
        kind: 'subagent',
        depth: 2,
        act: { sub: 'w', act: { sub: 'p', act: { sub: 'o' } } },
      },
    ],
    ['a bearer with no scopes', { ...base, kind: 'bearer', scopes: [], act: undefined }],
    [
      'subjects that need escaping',
      { ...base, sub: 'a"b\\c\n\t\u0000\u2028é😀', act: { sub: '</script>\u007f' } },
    ],
    ['a lone surrogate', { ...base, sub: 'x\ud800y', scopes: ['\udfff'] }],
  ])('is what the response schema writes, for %s', async (_what, p) => {
    const ours = JSON.stringify(introspection(p, core));
    expect(ours).toBe(await bySchema(p));
    expect(ours).not.toMatch(/undefined|null/);
  });
});
