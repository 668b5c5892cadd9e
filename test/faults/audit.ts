/**
 * The end of every scenario: the ledger checked against the service, token by token, and against
 * the database, the record of revocation. Plus the recovery probe used after each fault.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from './context.js';
import { call } from './http.js';
import { judgeServerError } from './load.js';
import { REVOCATION_PROPAGATION_MS, type TokenEntry } from './ledger.js';
import type { ScenarioStats } from './stats.js';

async function pool<T>(items: readonly T[], width: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < items.length) await fn(items[next++] as T);
    }),
  );
}

export { pool };

/** jtis the database holds as revoked, among `jtis`. */
async function revokedInDb(ctx: Context, jtis: string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (let i = 0; i < jtis.length; i += 5000) {
    const rows = await ctx.sql<{ jti: string }[]>`
      SELECT jti FROM auth.revocations WHERE jti = ANY(${jtis.slice(i, i + 5000)})`;
    for (const r of rows) out.add(r.jti);
  }
  return out;
}

/**
 * Verifies every token of the ledger once, after the revocation bound has passed: every token
 * with a revoked ancestor (or itself revoked) must be inactive, every other unexpired one active.
 * Revocations the service acknowledged must all be in the database.
 */
export async function audit(ctx: Context, stats: ScenarioStats): Promise<void> {
  await sleep(REVOCATION_PROPAGATION_MS + 200);
  const ledger = ctx.ledger;
  const candidates = ledger.entries.filter((e) => e.revokedAt !== undefined || e.revokeUncertain);
  const inDb = await revokedInDb(
    ctx,
    candidates.map((e) => e.jti),
  );
  ledger.settleUncertain(inDb, Date.now());
  const lost = ledger.entries.filter((e) => e.revokedAt !== undefined && !inDb.has(e.jti));
  stats.lostRevocations += lost.length;
  for (const e of lost.slice(0, 5))
    stats.sample(`revocation of ${e.jti} acknowledged but not in the database`);

  let active = 0;
  let inactive = 0;
  let unanswered = 0;
  await pool(ledger.entries, 16, async (entry: TokenEntry) => {
    const at = Date.now();
    const expected = ledger.expectation(entry, at);
    const res = await call(ctx.service.url, 'POST', '/v1/tokens/verify', {
      body: { token: entry.token },
    });
    stats.count('audit', res.status);
    judgeServerError(stats, 'audit', res);
    if (res.status !== '200') {
      unanswered++;
      return;
    }
    const isActive = (res.body as { active?: unknown }).active === true;
    if (isActive) active++;
    else inactive++;
    if (isActive && expected === 'inactive') {
      stats.revokedReportedActive++;
      stats.sample(`audit: revoked ${entry.kind} ${entry.jti} verified active`);
    } else if (!isActive && expected === 'active') {
      stats.validWronglyRefused++;
      stats.sample(`audit: valid ${entry.kind} ${entry.jti} verified inactive`);
    }
  });
  stats.check(
    'audit: every ledger token answered 200 and as the ledger says',
    unanswered === 0,
    `${ledger.entries.length} tokens: ${active} active, ${inactive} inactive, ${unanswered} unanswered`,
  );
}

/**
 * Measures recovery from `since`: the time until /health is 200, a mint succeeds and the minted
 * token verifies active. Records it and a check in `stats`.
 */
export async function awaitRecovery(
  ctx: Context,
  stats: ScenarioStats,
  since: number,
  timeoutMs = 30_000,
): Promise<void> {
  const app = [...ctx.ledger.appTokens.values()].find(
    (e) => ctx.ledger.expectation(e, Date.now()) === 'active',
  );
  if (!app) throw new Error('no active app token for the recovery probe');
  const deadline = since + timeoutMs;
  while (Date.now() < deadline) {
    const health = await call(ctx.service.url, 'GET', '/health', { timeoutMs: 2000 });
    stats.count('probe', health.status);
    if (health.status === '200') {
      const mint = await call(ctx.service.url, 'POST', '/v1/tokens', {
        body: { kind: 'session' },
        headers: { authorization: `Bearer ${app.token}` },
        timeoutMs: 2000,
      });
      stats.count('probe', mint.status);
      judgeServerError(stats, 'probe', mint);
      if (mint.status === '201') {
        const token = (mint.body as { token: string }).token;
        const verify = await call(ctx.service.url, 'POST', '/v1/tokens/verify', {
          body: { token },
          timeoutMs: 2000,
        });
        stats.count('probe', verify.status);
        if (verify.status === '200' && (verify.body as { active?: unknown }).active === true) {
          stats.recoverMs = Date.now() - since;
          stats.check(
            'recovered (health 200, mint 201, verify active)',
            true,
            `${stats.recoverMs} ms`,
          );
          return;
        }
      }
    }
    await sleep(100);
  }
  stats.check(
    'recovered (health 200, mint 201, verify active)',
    false,
    `not within ${timeoutMs} ms`,
  );
}
