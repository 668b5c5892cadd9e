import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bootstrapCustomers, type BootstrapLine } from '../../src/bootstrap.js';
import {
  createTestStack,
  TEST_MASTER_KEY,
  type TestStack,
} from '../../../test/support/fixtures.js';
import { inject } from 'vitest';

let s: TestStack;
beforeAll(async () => {
  s = await createTestStack();
});
afterAll(async () => s?.close());

async function customers(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await s.customer(`legacy ${i}`));
  return ids;
}

async function activeTokensPerCustomer(): Promise<Map<string, number>> {
  const rows = await s.sql<{ customer_id: string; n: number }[]>`
    SELECT c.id::text AS customer_id, count(t.id)::int AS n
    FROM public.customers c LEFT JOIN auth.app_tokens t
      ON t.customer_id = c.id AND t.revoked_at IS NULL AND t.expires_at > now()
    GROUP BY c.id`;
  return new Map(rows.map((r) => [r.customer_id, r.n]));
}

function runScript(
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/bootstrap_auth.ts'], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bootstrap', () => {
  it('gives every customer without an active app token one, and creates nothing when run again', async () => {
    await customers(5);
    const lines: BootstrapLine[] = [];
    const first = await bootstrapCustomers(
      s.core,
      async (l) => void lines.push(l),
      () => {},
    );
    expect(first.created).toBe(first.customers);
    expect(lines).toHaveLength(first.created);
    for (const line of lines) {
      expect(Object.keys(line).sort()).toEqual(['app_token', 'customer_id', 'expires_at']);
      expect((await s.verify(line.app_token)).active).toBe(true);
    }
    const second = await bootstrapCustomers(
      s.core,
      async (l) => void lines.push(l),
      () => {},
    );
    expect(second.created).toBe(0);
    expect(second.skipped).toBe(second.customers);
    for (const n of (await activeTokensPerCustomer()).values()) expect(n).toBe(1);
  });

  it('three bootstraps at once give each customer exactly one active app token', async () => {
    await customers(8);
    const all: BootstrapLine[] = [];
    await Promise.all(
      [1, 2, 3].map(() =>
        bootstrapCustomers(
          s.core,
          async (l) => void all.push(l),
          () => {},
        ),
      ),
    );
    const perCustomer = await activeTokensPerCustomer();
    for (const n of perCustomer.values()) expect(n).toBe(1);
    expect(new Set(all.map((l) => l.customer_id)).size).toBe(all.length);
    const [keys] = await s.sql`
      SELECT count(*)::int AS n FROM auth.signing_keys GROUP BY customer_id ORDER BY 1 DESC LIMIT 1`;
    expect(keys?.n).toBe(1);
  });

  it('records each token it creates in the audit log, without the token', async () => {
    const [id] = await customers(1);
    const lines: BootstrapLine[] = [];
    await bootstrapCustomers(
      s.core,
      async (l) => void lines.push(l),
      () => {},
    );
    const line = lines.find((l) => l.customer_id === id);
    expect(line).toBeDefined();
    const events =
      await s.sql`SELECT action, target, details::text AS d FROM auth.audit_events WHERE customer_id = ${id as string}`;
    expect(events.map((e) => e.action)).toEqual(
      expect.arrayContaining(['signing_key.create', 'bootstrap.app_token']),
    );
    expect(JSON.stringify(events)).not.toContain(line?.app_token);
  });

  it('npm run bootstrap prints one JSON object per line on stdout and its progress on stderr', async () => {
    const [id] = await customers(1);
    const res = await runScript({
      AUTH_DATABASE_URL: s.config.databaseUrl,
      REDIS_URL: inject('redisUrl'),
      AUTH_MASTER_KEY: TEST_MASTER_KEY,
    });
    expect(res.code).toBe(0);
    const out = res.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BootstrapLine);
    expect(out.map((l) => l.customer_id)).toContain(id);
    expect(res.stderr).toMatch(/bootstrap: \d+ customers/);
    const again = await runScript({
      AUTH_DATABASE_URL: s.config.databaseUrl,
      REDIS_URL: inject('redisUrl'),
      AUTH_MASTER_KEY: TEST_MASTER_KEY,
    });
    expect(again.code).toBe(0);
    expect(again.stdout).toBe('');
  });

  it('npm run bootstrap with a wrong master key stops before creating anything', async () => {
    await customers(1);
    const before = await s.sql`SELECT count(*)::int AS n FROM auth.app_tokens`;
    const res = await runScript({
      AUTH_DATABASE_URL: s.config.databaseUrl,
      REDIS_URL: inject('redisUrl'),
      AUTH_MASTER_KEY: Buffer.alloc(32, 9).toString('base64'),
    });
    expect(res.code).not.toBe(0);
    expect(res.stderr).toMatch(/AUTH_MASTER_KEY/);
    const after = await s.sql`SELECT count(*)::int AS n FROM auth.app_tokens`;
    expect(after[0]?.n).toBe(before[0]?.n);
  });
});
