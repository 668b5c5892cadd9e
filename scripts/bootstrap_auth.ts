/**
 * npm run bootstrap: gives every customer without an active app token a signing key and an app
 * token. One JSON line per token created on stdout; progress on stderr. Safe to run again.
 */
import { createAuthCore } from '../service/src/auth-core.js';
import { bootstrapCustomers } from '../service/src/bootstrap.js';
import { loadConfig } from '../service/src/config.js';
import { createSql } from '../service/src/db/postgres.js';
import { createRedis } from '../service/src/redis.js';
import { progress, run } from './cli.js';

function writeLine(line: string): Promise<void> {
  return new Promise((resolve, reject) =>
    process.stdout.write(line, (err) => (err ? reject(err) : resolve())),
  );
}

run(async () => {
  const config = loadConfig();
  for (const warning of config.warnings) progress(`warning: ${warning}`);
  const sql = createSql(config.databaseUrl, { max: 2, applicationName: 'quint-auth-bootstrap' });
  const redis = createRedis(config.redisUrl);
  redis.on('error', () => {});
  try {
    const core = createAuthCore(config, sql, redis);
    await core.keys.checkMasterKeys();
    const summary = await bootstrapCustomers(
      core,
      (line) => writeLine(`${JSON.stringify(line)}\n`),
      progress,
    );
    progress(
      `bootstrap: ${summary.customers} customers, ${summary.created} app tokens created, ${summary.skipped} already had one, ${summary.failed} failed`,
    );
    return summary.failed > 0 ? 1 : 0;
  } finally {
    redis.disconnect();
    await sql.end({ timeout: 5 });
  }
});
