import { cpSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { migrate, MigrationError } from '../../src/db/migrate.js';
import { migrationsDir } from '../../src/db/migrations-dir.js';
import { createSql } from '../../src/db/postgres.js';
import { createDatabase } from '../../../test/support/fixtures.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()?.();
});

async function freshDb() {
  const db = await createDatabase();
  const sql = createSql(db.url, { max: 4 });
  cleanups.push(async () => {
    await sql.end({ timeout: 1 });
    await db.drop();
  });
  return { ...db, sql };
}

function copyOfMigrations(): string {
  const dir = mkdtempSync(join(tmpdir(), 'quint-migrations-'));
  cpSync(migrationsDir(), dir, { recursive: true });
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

describe('npm run migrate', () => {
  it('applies 001…004 in order, records each with its checksum, and creates the auth schema', async () => {
    const { sql } = await freshDb();
    const result = await migrate(sql, migrationsDir());
    expect(result.applied).toEqual([
      '001_customers.sql',
      '002_legacy_api_keys.sql',
      '003_agents.sql',
      '004_auth_schema.sql',
    ]);
    const rows = await sql`SELECT version, checksum FROM public.schema_migrations ORDER BY version`;
    expect(rows.map((r) => r.version)).toEqual(['001', '002', '003', '004']);
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.checksum as string))).toBe(true);
    const tables = await sql`
      SELECT table_schema || '.' || table_name AS t FROM information_schema.tables
      WHERE table_schema IN ('auth', 'public') ORDER BY 1`;
    expect(tables.map((r) => r.t)).toEqual(
      expect.arrayContaining([
        'auth.signing_keys',
        'auth.app_tokens',
        'auth.revocations',
        'auth.audit_events',
        'public.customers',
      ]),
    );
    // A customer row needs only a name.
    await sql`INSERT INTO public.customers (name) VALUES ('only a name')`;
  });

  it('is idempotent: a second run applies nothing', async () => {
    const { sql } = await freshDb();
    await migrate(sql, migrationsDir());
    const again = await migrate(sql, migrationsDir());
    expect(again.applied).toEqual([]);
    expect(again.alreadyApplied).toHaveLength(4);
  });

  it('every migration file is itself idempotent (safe to re-run by hand)', async () => {
    const { sql } = await freshDb();
    await migrate(sql, migrationsDir());
    const dir = migrationsDir();
    for (const name of [
      '001_customers.sql',
      '002_legacy_api_keys.sql',
      '003_agents.sql',
      '004_auth_schema.sql',
    ]) {
      await sql.file(join(dir, name));
    }
  });

  it('four processes migrating at once apply each file exactly once', async () => {
    const db = await freshDb();
    const clients = Array.from({ length: 4 }, () => createSql(db.url, { max: 1 }));
    cleanups.push(async () => {
      await Promise.all(clients.map((c) => c.end({ timeout: 1 })));
    });
    const results = await Promise.all(clients.map((c) => migrate(c, migrationsDir())));
    const applied = results.flatMap((r) => r.applied).sort();
    expect(applied).toEqual([
      '001_customers.sql',
      '002_legacy_api_keys.sql',
      '003_agents.sql',
      '004_auth_schema.sql',
    ]);
    const [count] = await db.sql`SELECT count(*)::int AS n FROM public.schema_migrations`;
    expect(count?.n).toBe(4);
  });

  it('refuses an applied migration whose file was edited afterwards', async () => {
    const { sql } = await freshDb();
    const dir = copyOfMigrations();
    await migrate(sql, dir);
    appendFileSync(join(dir, '003_agents.sql'), '\n-- an innocent-looking edit\n');
    await expect(migrate(sql, dir)).rejects.toThrow(
      /migrations\/003_agents\.sql: was applied .* checksum/,
    );
  });

  it('a failing statement is named by file, number and line, and nothing of that file is kept', async () => {
    const { sql } = await freshDb();
    const dir = copyOfMigrations();
    writeFileSync(
      join(dir, '005_broken.sql'),
      'CREATE TABLE auth.kept_only_if_all_succeeds (id int);\n\nINSERT INTO auth.no_such_table VALUES (1);\n',
    );
    const error = await migrate(sql, dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(
      /migrations\/005_broken\.sql: statement 2 \(line 3\) failed: .*no_such_table/,
    );
    const [t] = await sql`SELECT to_regclass('auth.kept_only_if_all_succeeds') AS t`;
    expect(t?.t).toBeNull();
    const [v] =
      await sql`SELECT count(*)::int AS n FROM public.schema_migrations WHERE version = '005'`;
    expect(v?.n).toBe(0);
  });

  it('refuses two files with the same number', async () => {
    const { sql } = await freshDb();
    const dir = copyOfMigrations();
    writeFileSync(join(dir, '004_duplicate.sql'), 'SELECT 1;');
    await expect(migrate(sql, dir)).rejects.toThrow(/same number/);
  });
});
