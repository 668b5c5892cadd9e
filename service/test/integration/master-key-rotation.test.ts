/**
 * Master-key rotation without downtime: the service reads keys under the current or the previous
 * master key, and the resumable re-encryption moves every row to the current one.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTestStack,
  TEST_MASTER_KEY,
  type TestStack,
} from '../../../test/support/fixtures.js';
import { masterKeyId } from '../../src/crypto/master-keys.js';

const NEW_KEY = Buffer.alloc(32, 42).toString('base64');
let old: TestStack;
let rotated: TestStack | undefined;
beforeAll(async () => {
  old = await createTestStack();
});
afterAll(async () => {
  await rotated?.close();
  await old?.close();
});

describe('master key rotation', () => {
  it('new master key + previous: everything keeps working, re-encryption moves every row, then the old key is no longer needed', async () => {
    const tokens: string[] = [];
    const apps: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { token } = await old.appToken();
      apps.push(token);
      tokens.push((await old.mint(token, { kind: 'bearer' })).token);
    }
    // Restart "with the new key as current and the old one as previous" on the same database.
    rotated = await createTestStack({
      databaseUrl: old.config.databaseUrl,
      env: { AUTH_MASTER_KEY: NEW_KEY, AUTH_MASTER_KEY_PREVIOUS: TEST_MASTER_KEY },
    });
    await rotated.core.keys.checkMasterKeys();
    for (const t of tokens) expect((await rotated.verify(t)).active).toBe(true);
    for (const a of apps) await rotated.mint(a, { kind: 'session' });

    // Re-encrypt in small batches, as an interrupted run resuming would.
    let done = 0;
    for (;;) {
      const n = await rotated.core.keys.reencryptBatch(2, 'test');
      if (n === 0) break;
      done += n;
    }
    expect(done).toBe(5);
    const ids = await rotated.sql`SELECT DISTINCT master_key_id FROM auth.signing_keys`;
    expect(ids.map((r) => r.master_key_id)).toEqual([masterKeyId(Buffer.from(NEW_KEY, 'base64'))]);

    // Without the previous key now.
    const only = await createTestStack({
      databaseUrl: old.config.databaseUrl,
      env: { AUTH_MASTER_KEY: NEW_KEY },
    });
    try {
      await only.core.keys.checkMasterKeys();
      for (const a of apps) await only.mint(a, { kind: 'session' });
      for (const t of tokens) expect((await only.verify(t)).active).toBe(true);
    } finally {
      await only.close();
    }
    // And the old key alone is now refused at start.
    await expect(old.core.keys.checkMasterKeys()).rejects.toThrow(/^AUTH_MASTER_KEY: /);
  });
});
