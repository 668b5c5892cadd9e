/**
 * The audit log on a real Postgres.
 */
import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit, recordAudit, type AuditEvent } from '../../src/audit/audit-log.js';
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
