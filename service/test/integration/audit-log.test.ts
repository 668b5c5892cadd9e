/**
 * The audit batcher on a real Postgres: concurrent events in one INSERT, each caller answered
 * only once its row is stored, one refused event failing alone, and an unreachable Postgres
 * failing every caller rather than leaving one waiting.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AuditBatcher,
  listAudit,
  recordAudit,
  type AuditEvent,
} from '../../src/audit/audit-log.js';
import { createSql } from '../../src/db/postgres.js';
import { createMigratedDatabase } from '../../../test/support/fixtures.js';

let db: { url: string; drop: () => Promise<void> };
let sql: Sql;

beforeAll(async () => {
  db = await createMigratedDatabase();
  sql = createSql(db.url);
});
afterAll(async () => {
  await sql?.end();
  await db?.drop();
});

/** `sql`, counting the statements sent through it as a tagged template. */
function counting(inner: Sql): { sql: Sql; statements: () => number } {
  let n = 0;
  const wrapped = ((...args: Parameters<Sql>) => {
    n++;
    return (inner as (...a: Parameters<Sql>) => unknown)(...args);
  }) as unknown as Sql;
  Object.assign(wrapped, { json: inner.json.bind(inner) });
  return { sql: wrapped, statements: () => n };
}

const mint = (customerId: string, i: number): AuditEvent => ({
  customerId,
  actor: `agent:${i}`,
  action: 'token.mint',
  target: `jti-${i}`,
  details: { kind: 'subagent', scope: 'read', exp: 1_900_000_000 + i },
});

describe('listAudit', () => {
  it('lists newest first by number, also across 9 -> 10 and 99 -> 100, and pages with before', async () => {
    const customer = randomUUID();
    // Ids are shared by every customer; enough events that this customer's cross both boundaries.
    for (let i = 0; i < 120; i++) await recordAudit(sql, mint(customer, i));
    const all = await listAudit(sql, customer, { limit: 1000 });
    expect(all.map((r) => r.target)).toEqual(
      Array.from({ length: 120 }, (_, i) => `jti-${119 - i}`),
    );
    const page = await listAudit(sql, customer, { limit: 10, before: all[100]!.id });
    expect(page.map((r) => r.target)).toEqual(all.slice(101, 111).map((r) => r.target));
  });
});

describe('AuditBatcher', () => {
  it('stores events recorded together in one INSERT, every row as given, in order', async () => {
    const customer = randomUUID();
    const { sql: wrapped, statements } = counting(sql);
    const audit = new AuditBatcher(wrapped);
    await Promise.all(Array.from({ length: 50 }, (_, i) => audit.record(mint(customer, i))));
    expect(statements()).toBe(1);
    const rows = await listAudit(sql, customer, { limit: 100 });
    expect(rows.reverse().map((r) => [r.actor, r.action, r.target, r.details])).toEqual(
      Array.from({ length: 50 }, (_, i) => {
        const e = mint(customer, i);
        return [e.actor, e.action, e.target, e.details];
      }),
    );
    // A null customer and target are stored as null.
    await audit.record({ customerId: null, actor: 'admin', action: 'signing_key.rotate' });
    const [nulls] = await sql<{ customer_id: string | null; target: string | null }[]>`
      SELECT customer_id, target FROM auth.audit_events WHERE actor = 'admin'`;
    expect(nulls).toEqual({ customer_id: null, target: null });
  });

  it('answers a caller only once its row is stored', async () => {
    const customer = randomUUID();
    const audit = new AuditBatcher(sql);
    await audit.record(mint(customer, 1));
    expect(await listAudit(sql, customer)).toHaveLength(1);
  });

  it('an event Postgres refuses fails alone; the others in its batch are stored', async () => {
    const customer = randomUUID();
    const audit = new AuditBatcher(sql);
    // jsonb refuses the NUL character.
    const bad = { ...mint(customer, 99), details: { note: 'a\u0000b' } };
    const outcomes = await Promise.allSettled([
      audit.record(mint(customer, 1)),
      audit.record(bad),
      audit.record(mint(customer, 2)),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const targets = (await listAudit(sql, customer)).map((r) => r.target).sort();
    expect(targets).toEqual(['jti-1', 'jti-2']);
  });

  it('every caller fails, none waits for ever, when Postgres cannot be reached', async () => {
    const gone = createSql('postgres://nobody@127.0.0.1:1/none', { max: 1, connectTimeout: 1 });
    try {
      const audit = new AuditBatcher(gone);
      const outcomes = await Promise.allSettled(
        Array.from({ length: 5 }, (_, i) => audit.record(mint(randomUUID(), i))),
      );
      expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
    } finally {
      await gone.end({ timeout: 1 });
    }
  });
});
