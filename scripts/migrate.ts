/**
 * npm run migrate: applies migrations/*.sql in order (see service/src/db/migrate.ts).
 */
import { migrate } from '../service/src/db/migrate.js';
import { migrationsDir } from '../service/src/db/migrations-dir.js';
import { createSql } from '../service/src/db/postgres.js';
import { databaseUrlFromEnv, progress, run } from './cli.js';

run(async () => {
  const sql = createSql(databaseUrlFromEnv(), {
    max: 1,
    statementTimeoutMs: 0,
    applicationName: 'quint-auth-migrate',
  });
  try {
    const result = await migrate(sql, migrationsDir(), progress);
    progress(
      `migrations: ${result.applied.length} applied, ${result.alreadyApplied.length} already applied`,
    );
    process.stdout.write(`${JSON.stringify(result)}\n`);
  } finally {
    await sql.end({ timeout: 5 });
  }
});
