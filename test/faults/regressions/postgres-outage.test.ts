/**
 * Regression: with Postgres down, postgres.js waited before each reconnect attempt for a backoff
 * that grows with every failure (up to 20 s), and a query arriving meanwhile waited with it, so
 * mint and revoke requests hung past any client timeout instead of answering 503, and recovery
 * after Postgres came back took seconds. Found by the fault suite (scenario 3).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sql } from 'postgres';
import { createSql } from '../../../service/src/db/postgres.js';
import { startPostgres, type ManagedServer } from '../../../scripts/support/servers.js';
import { destroyPostgres, stopPostgres } from '../postgres-control.js';

let pg: ManagedServer;
let sql: Sql;
beforeAll(async () => {
  pg = await startPostgres();
  sql = createSql(pg.url);
});
afterAll(async () => {
  await sql?.end({ timeout: 1 });
  if (pg) await destroyPostgres(pg);
});

async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; ok: boolean }> {
  const started = Date.now();
  try {
    await fn();
    return { ms: Date.now() - started, ok: true };
  } catch {
    return { ms: Date.now() - started, ok: false };
  }
}

describe('a Postgres outage', () => {
  it('fails every query promptly while Postgres is down, and recovers at once after', async () => {
    await Promise.all(Array.from({ length: 5 }, () => sql`SELECT pg_sleep(0.01)`));
    await stopPostgres(pg);
    const failures: { ms: number; ok: boolean }[] = [];
    for (let i = 0; i < 25; i++) {
      failures.push(await timed(() => sql`SELECT 1`));
      await new Promise((r) => setTimeout(r, 40));
    }
    expect(failures.every((f) => !f.ok)).toBe(true);
    expect(Math.max(...failures.map((f) => f.ms))).toBeLessThan(1000);
    await pg.start();
    const back = await timed(() => sql`SELECT 1`);
    expect(back.ok).toBe(true);
    expect(back.ms).toBeLessThan(1000);
  }, 60_000);
});
