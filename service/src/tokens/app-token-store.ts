/**
 * App tokens in Postgres: created per customer, found by the SHA-256 of the presented token.
 */
import type { Sql, TransactionSql } from 'postgres';
import { LruCache } from '../lru.js';
import { generateAppToken, hashAppToken } from './app-token-format.js';
import { newTokenId } from './ids.js';
import type { AppTokenRecord } from './verifier.js';

interface AppTokenRow {
  id: string;
  customer_id: string;
  subject: string;
  scopes: string[] | null;
  created_at: Date;
  expires_at: Date;
  revoked_at: Date | null;
}

export interface NewAppToken {
  token: string;
  record: AppTokenRecord;
}

function toRecord(row: AppTokenRow): AppTokenRecord {
  return {
    id: row.id,
    customerId: row.customer_id,
    subject: row.subject,
    scopes: row.scopes,
    issuedAt: Math.floor(row.created_at.getTime() / 1000),
    expiresAt: Math.floor(row.expires_at.getTime() / 1000),
    revoked: row.revoked_at !== null,
  };
}

export class AppTokenStore {
  readonly #sql: Sql;
  /** Lookups are remembered briefly; revocation is checked separately on every use. */
  readonly #cache = new LruCache<string, { record: AppTokenRecord | undefined; until: number }>(
    20_000,
  );

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Creates an app token in the caller's transaction. */
  async create(
    tx: TransactionSql,
    input: {
      customerId: string;
      ttlSeconds: number;
      subject?: string;
      scopes?: string[] | null;
      name?: string;
      createdBy: string;
    },
    nowSeconds: number,
  ): Promise<NewAppToken> {
    const token = generateAppToken();
    const exp = nowSeconds + input.ttlSeconds;
    const id = newTokenId(exp);
    const [row] = await tx<AppTokenRow[]>`
      INSERT INTO auth.app_tokens (id, customer_id, token_hash, subject, scopes, name, created_by, created_at, expires_at)
      VALUES (${id}, ${input.customerId}, ${hashAppToken(token)}, ${input.subject ?? `customer:${input.customerId}`},
              ${input.scopes ?? null}, ${input.name ?? null}, ${input.createdBy}, to_timestamp(${nowSeconds}),
              to_timestamp(${exp}))
      RETURNING id, customer_id, subject, scopes, created_at, expires_at, revoked_at`;
    return { token, record: toRecord(row as AppTokenRow) };
  }

  /** Whether a customer holds an app token that is neither revoked nor expired. */
  async hasActive(tx: TransactionSql | Sql, customerId: string): Promise<boolean> {
    const [row]: [{ id: string }?] = await tx`
      SELECT id FROM auth.app_tokens
      WHERE customer_id = ${customerId} AND revoked_at IS NULL AND expires_at > now()
      LIMIT 1`;
    return row !== undefined;
  }

  /** Finds an app token by the hash of the presented token. */
  async findByHash(hash: Buffer): Promise<AppTokenRecord | undefined> {
    const key = hash.toString('base64');
    const now = Date.now();
    const hit = this.#cache.get(key);
    if (hit && hit.until > now) return hit.record;
    const [row]: [AppTokenRow?] = await this.#sql`
      SELECT id, customer_id, subject, scopes, created_at, expires_at, revoked_at
      FROM auth.app_tokens WHERE token_hash = ${hash}`;
    const record = row ? toRecord(row) : undefined;
    this.#cache.set(key, { record, until: now + (record ? 30_000 : 1_000) });
    return record;
  }

  /** Marks an app token revoked (the revocation record is written separately). */
  async markRevoked(id: string): Promise<void> {
    await this
      .#sql`UPDATE auth.app_tokens SET revoked_at = now() WHERE id = ${id} AND revoked_at IS NULL`;
    this.#cache.clear();
  }
}
