/**
 * Forward-only migrations: `migrations/NNN_name.sql`, applied in order, each in its own
 * transaction and recorded with its SHA-256. Safe when several processes run at once (an advisory
 * lock serialises them and the later ones find the work done). An applied file that was edited
 * afterwards is refused; a failing statement is reported with its file, number and line.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Sql } from 'postgres';
import { splitSqlStatements } from './sql-statements.js';

/** The advisory lock every migrating process takes (an arbitrary constant: "quint-au"). */
const LOCK_KEY = 0x71756e74_2d6175n;

export class MigrationError extends Error {
  readonly file: string;
  constructor(file: string, message: string, options?: { cause?: unknown }) {
    super(`${file}: ${message}`, options);
    this.name = 'MigrationError';
    this.file = file;
  }
}

export interface MigrationFile {
  version: string;
  name: string;
  path: string;
  checksum: string;
  text: string;
}

/** Reads `dir`'s migrations in order; refuses two files with one number. */
export function readMigrations(dir: string): MigrationFile[] {
  const names = readdirSync(dir)
    .filter((n) => /^\d{3,}_[A-Za-z0-9_-]+\.sql$/.test(n))
    .sort();
  const seen = new Map<string, string>();
  return names.map((name) => {
    const version = name.split('_')[0] as string;
    const other = seen.get(version);
    if (other)
      throw new MigrationError(join('migrations', name), `has the same number as ${other}`);
    seen.set(version, name);
    const path = join(dir, name);
    const text = readFileSync(path, 'utf8');
    return { version, name, path, text, checksum: createHash('sha256').update(text).digest('hex') };
  });
}

export interface MigrateResult {
  applied: string[];
  alreadyApplied: string[];
}

/** Applies every pending migration in `dir`. `log` receives one line per file applied. */
export async function migrate(
  sql: Sql,
  dir: string,
  log: (line: string) => void = () => {},
): Promise<MigrateResult> {
  const files = readMigrations(dir);
  await sql.begin(async (tx) => {
    await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY.toString()}::bigint)`;
    await tx`
      CREATE TABLE IF NOT EXISTS public.schema_migrations (
        version    text        PRIMARY KEY,
        name       text        NOT NULL,
        checksum   text        NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
      )`;
  });
  const result: MigrateResult = { applied: [], alreadyApplied: [] };
  for (const file of files) {
    const label = join('migrations', file.name);
    const applied = await sql.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(${LOCK_KEY.toString()}::bigint)`;
      const [row]: [{ checksum: string; name: string }?] = await tx`
        SELECT checksum, name FROM public.schema_migrations WHERE version = ${file.version}`;
      if (row) {
        if (row.checksum !== file.checksum) {
          throw new MigrationError(
            label,
            `was applied as ${row.name} with checksum ${row.checksum.slice(0, 12)}…, but the file now has ${file.checksum.slice(0, 12)}…. ` +
              'Never edit an applied migration: restore it and add a new numbered file.',
          );
        }
        return false;
      }
      const statements = splitSqlStatements(file.text);
      for (const [n, statement] of statements.entries()) {
        try {
          await tx.unsafe(statement.text);
        } catch (cause) {
          const excerpt = statement.text.replace(/\s+/g, ' ').slice(0, 120);
          const why = cause instanceof Error ? cause.message : String(cause);
          throw new MigrationError(
            label,
            `statement ${n + 1} (line ${statement.line}) failed: ${why}\n  ${excerpt}`,
            {
              cause,
            },
          );
        }
      }
      await tx`
        INSERT INTO public.schema_migrations (version, name, checksum)
        VALUES (${file.version}, ${file.name}, ${file.checksum})`;
      return true;
    });
    if (applied) {
      result.applied.push(file.name);
      log(`applied ${label}`);
    } else {
      result.alreadyApplied.push(file.name);
    }
  }
  return result;
}
