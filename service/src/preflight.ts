/**
 * Checks made once before any worker starts: Postgres is reachable and migrated, and the master
 * key opens the stored signing keys. Each failure is one line that names what to fix.
 */
import type { Config } from './config.js';
import { MasterKeyring } from './crypto/master-keys.js';
import { createSql } from './db/postgres.js';
import { SigningKeyStore } from './keys/signing-keys.js';

export async function preflight(
  config: Config,
  options: { attempts?: number } = {},
): Promise<void> {
  const sql = createSql(config.databaseUrl, { max: 1 });
  try {
    const attempts = options.attempts ?? 15;
    for (let i = 1; ; i++) {
      try {
        await sql`SELECT 1`;
        break;
      } catch (error) {
        if (i >= attempts) {
          const url = new URL(config.databaseUrl);
          throw new Error(
            `AUTH_DATABASE_URL: cannot connect to Postgres at ${url.hostname}:${url.port || 5432} (${error instanceof Error ? error.message : String(error)})`,
          );
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    const [schema]: [{ ok: boolean }?] =
      await sql`SELECT to_regclass('auth.signing_keys') IS NOT NULL AS ok`;
    if (!schema?.ok) {
      throw new Error('AUTH_DATABASE_URL: the auth schema is missing; run npm run migrate first');
    }
    const keyring = new MasterKeyring(config.masterKey.key, config.previousMasterKey?.key);
    await new SigningKeyStore(sql, keyring, {
      activationDelaySeconds: 0,
      maxSignedTokenTtlSeconds: 0,
      clockSkewSeconds: 0,
    }).checkMasterKeys();
  } finally {
    await sql.end({ timeout: 2 });
  }
}
