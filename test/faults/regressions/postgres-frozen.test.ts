/**
 * Regression: with Postgres frozen (SIGSTOP: connections stay open, nothing answers), a mint
 * waited for as long as the freeze lasted, because postgres.js has no client-side query timeout
 * and statement_timeout is enforced by the frozen server itself. Found by the fault suite
 * ("postgres frozen"). Every request now gets an answer within REQUEST_DEADLINE_MS: a 503
 * problem+json when a backing store does not answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, REQUEST_DEADLINE_MS } from '../../../service/src/http/app.js';
import { NOT_DELIVERED } from '../../../service/src/http/deadlines.js';
import { startPostgres, type ManagedServer } from '../../../scripts/support/servers.js';
import { capturedLog } from '../../support/captured-log.js';
import { eventually } from '../../support/eventually.js';
import {
  createMigratedDatabase,
  createTestStack,
  TEST_ADMIN_TOKEN,
  type TestStack,
} from '../../support/fixtures.js';
import { destroyPostgres, postmasterPid } from '../postgres-control.js';
import { descendantPids } from '../service-process.js';

let pg: ManagedServer;
let s: TestStack;
let frozen: number[] = [];

function signal(pids: number[], sig: NodeJS.Signals) {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      /* gone */
    }
  }
}

beforeAll(async () => {
  pg = await startPostgres();
  const db = await createMigratedDatabase(pg.url);
  s = await createTestStack({ databaseUrl: db.url });
});
afterAll(async () => {
  signal(frozen, 'SIGCONT');
  await s?.close();
  if (pg) await destroyPostgres(pg);
});

describe('a frozen Postgres', () => {
  it('gets a mint a 503 problem+json within the request deadline, not a hang', async () => {
    const { token: app } = await s.appToken();
    await s.mint(app, { kind: 'session' }); // warm: the app token and its key are cached
    await new Promise((r) => setTimeout(r, 5500)); // the signing key cache (5 s) has lapsed
    const pid = postmasterPid(pg);
    // The backends, not the postmaster: pooled connections stay open and get no answer (as in a
    // partition), and the postmaster's fast shutdown at the end does not stall.
    frozen = pid === undefined ? [] : descendantPids(pid);
    expect(frozen.length).toBeGreaterThan(0);
    signal(frozen, 'SIGSTOP');
    const started = Date.now();
    const res = await s.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { authorization: `Bearer ${app}` },
      payload: { kind: 'session' },
    });
    const took = Date.now() - started;
    signal(frozen, 'SIGCONT');
    frozen = [];
    expect(res.statusCode).toBe(503);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.json()).toMatchObject({ code: 'dependency_unavailable' });
    expect(took).toBeGreaterThanOrEqual(REQUEST_DEADLINE_MS - 50);
    expect(took).toBeLessThan(REQUEST_DEADLINE_MS + 1000);
    // and once Postgres answers again, so does the service
    await new Promise((r) => setTimeout(r, 500));
    expect((await s.mint(app, { kind: 'session' })).token).toBeTruthy();
  }, 40_000);

  it('drops a mint and a verify that finish after their 503, and logs the token not delivered', async () => {
    const log = capturedLog();
    const logged = await buildApp(s.core, {
      requestDeadlineMs: 1000,
      rateLimitPrefix: `${s.prefix}:late`,
      logger: log.logger,
    });
    try {
      const { token: app } = await s.appToken();
      // Never verified, so its public key is not loaded yet: verifying it reads Postgres.
      const { token } = await s.mint(app, { kind: 'session' });
      await new Promise((r) => setTimeout(r, 5500)); // the signing key cache (5 s) has lapsed
      const pid = postmasterPid(pg);
      frozen = pid === undefined ? [] : descendantPids(pid);
      signal(frozen, 'SIGSTOP');
      const [mint, verify] = await Promise.all([
        logged.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { authorization: `Bearer ${app}` },
          payload: { kind: 'session' },
        }),
        logged.inject({ method: 'POST', url: '/v1/tokens/verify', payload: { token } }),
      ]);
      expect([mint.statusCode, verify.statusCode]).toEqual([503, 503]);
      signal(frozen, 'SIGCONT');
      frozen = [];
      // Both finish once Postgres answers; neither is sent, and only the mint is worth a line.
      await eventually(
        () => log.has(NOT_DELIVERED),
        10_000,
        'the late mint logged as not delivered',
      );
      // The late verify has run on once the key it waited for is loaded.
      const kid = (
        JSON.parse(Buffer.from(token.split('.')[0] ?? '', 'base64url').toString()) as {
          kid: string;
        }
      ).kid;
      await eventually(
        () => {
          const key = s.core.keys.publicKey(kid);
          return key !== undefined && !(key instanceof Promise);
        },
        10_000,
        'the late verify loading its key',
      );
      await new Promise((r) => setTimeout(r, 200));
      expect(log.warnings()).toEqual([
        'request deadline exceeded; answering 503',
        'request deadline exceeded; answering 503',
        NOT_DELIVERED,
      ]);
    } finally {
      await logged.close();
    }
  }, 40_000);

  it('logs an app token made after its 503 as not delivered, with the id it was stored under', async () => {
    const log = capturedLog();
    const logged = await buildApp(s.core, {
      requestDeadlineMs: 1000,
      rateLimitPrefix: `${s.prefix}:late-app`,
      logger: log.logger,
    });
    try {
      const customerId = await s.customer('Late Ltd');
      const pid = postmasterPid(pg);
      frozen = pid === undefined ? [] : descendantPids(pid);
      signal(frozen, 'SIGSTOP');
      const res = await logged.inject({
        method: 'POST',
        url: `/v1/customers/${customerId}/app-tokens`,
        headers: { authorization: `Bearer ${TEST_ADMIN_TOKEN}` },
        payload: {},
      });
      expect(res.statusCode).toBe(503);
      expect(res.json()).toMatchObject({ code: 'dependency_unavailable' });
      signal(frozen, 'SIGCONT');
      frozen = [];
      await eventually(
        () => log.has(NOT_DELIVERED),
        10_000,
        'the late app token logged as not delivered',
      );
      const jti = log.line(NOT_DELIVERED)?.jti;
      expect(typeof jti).toBe('string');
      // The token exists (its caller must revoke or ignore it and retry); the line names it.
      const rows = await s.sql<{ customer_id: string }[]>`
        SELECT customer_id::text FROM auth.app_tokens WHERE id = ${jti as string}`;
      expect(rows.map((r) => r.customer_id)).toEqual([customerId]);
      expect(log.warnings()).toEqual(['request deadline exceeded; answering 503', NOT_DELIVERED]);
    } finally {
      await logged.close();
    }
  }, 40_000);
});
