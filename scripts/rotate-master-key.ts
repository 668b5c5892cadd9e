/**
 * npm run rotate-master-key: re-encrypts every stored private key under AUTH_MASTER_KEY.
 *
 * Rotation without downtime: (1) deploy with the new key as AUTH_MASTER_KEY and the old one as
 * AUTH_MASTER_KEY_PREVIOUS (the service decrypts with either); (2) run this; (3) drop
 * AUTH_MASTER_KEY_PREVIOUS. Resumable: interrupted, it carries on where it stopped.
 */
import { createAuthCore } from '../service/src/auth-core.js';
import { loadConfig } from '../service/src/config.js';
import { createSql } from '../service/src/db/postgres.js';
import { createRedis } from '../service/src/redis.js';
import { progress, run } from './cli.js';

run(async () => {
  const config = loadConfig();
  const sql = createSql(config.databaseUrl, {
    max: 2,
    applicationName: 'quint-auth-rotate-master-key',
  });
  const redis = createRedis(config.redisUrl);
  redis.on('error', () => {});
  try {
    const core = createAuthCore(config, sql, redis);
    await core.keys.checkMasterKeys();
    let total = 0;
    for (;;) {
      const n = await core.keys.reencryptBatch(100, 'rotate-master-key');
      if (n === 0) break;
      total += n;
      progress(`re-encrypted ${total} signing keys so far`);
    }
    progress(`done: every signing key is encrypted under master key ${core.keyring.current.id}`);
    process.stdout.write(
      `${JSON.stringify({ reencrypted: total, master_key_id: core.keyring.current.id })}\n`,
    );
  } finally {
    redis.disconnect();
    await sql.end({ timeout: 5 });
  }
});
