/**
 * The smoke test against the real auth service (its Fastify app on the suite's Postgres and Redis,
 * listening on loopback), so a change of the HTTP API that would break the smoke test after a
 * deploy fails here first, without Docker.
 */
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStack, TEST_ADMIN_TOKEN, type TestStack } from '../test/support/fixtures.js';
import { checkKeptTokens, runSmoke, type SmokeOptions } from './smoke-steps.js';

let s: TestStack;
let baseUrl: string;
beforeAll(async () => {
  s = await createTestStack();
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  baseUrl = `http://127.0.0.1:${(s.app.server.address() as AddressInfo).port}`;
});
afterAll(async () => s?.close());

const options = (overrides: Partial<SmokeOptions>): SmokeOptions => ({
  baseUrl,
  appToken: { kind: 'given', token: '' },
  timeoutMs: 5000,
  waitMs: 0,
  revocationWindowMs: 1500,
  keepTokens: false,
  ...overrides,
});

describe('smoke test against the real service', () => {
  it('passes with an app token made through the admin endpoint, and revokes that token after', async () => {
    const customerId = await s.customer('smoke');
    const outcome = await runSmoke(
      options({ appToken: { kind: 'admin', adminToken: TEST_ADMIN_TOKEN, customerId } }),
    );
    expect(outcome.steps.filter((step) => !step.ok)).toEqual([]);
    expect(outcome.ok).toBe(true);
    const [row] = await s.sql<{ live: number }[]>`
      SELECT count(*)::int AS live FROM auth.app_tokens
      WHERE customer_id = ${customerId} AND revoked_at IS NULL`;
    expect(row?.live).toBe(0);
  });

  it('passes with a given app token, and kept tokens survive as they were', async () => {
    const { token } = await s.appToken();
    const outcome = await runSmoke(
      options({ appToken: { kind: 'given', token }, keepTokens: true }),
    );
    expect(outcome.ok).toBe(true);
    const kept = outcome.kept;
    if (!kept) throw new Error('no kept tokens');
    const check = await checkKeptTokens({ baseUrl, tokens: kept, timeoutMs: 5000, waitMs: 0 });
    expect(check.steps.map((step) => [step.step, step.ok])).toEqual([
      ['health', true],
      ['verify kept token', true],
      ['verify revoked token', true],
    ]);
  });

  it('fails at mint, with the service’s problem code, when the app token is not valid', async () => {
    const outcome = await runSmoke(
      options({ appToken: { kind: 'given', token: 'qa_not_a_token' } }),
    );
    expect(outcome.ok).toBe(false);
    expect(outcome.steps.at(-1)).toMatchObject({ step: 'mint session token', ok: false });
    expect(outcome.steps.at(-1)?.detail).toMatch(/HTTP 401/);
  });

  it('fails at the app token step when the admin token is wrong', async () => {
    const customerId = await s.customer('smoke');
    const outcome = await runSmoke(
      options({ appToken: { kind: 'admin', adminToken: 'wrong', customerId } }),
    );
    expect(outcome.steps.at(-1)).toMatchObject({ step: 'app token', ok: false });
    expect(outcome.steps.at(-1)?.detail).toMatch(/HTTP 401/);
  });
});
