/**
 * Postgres, the record of revocation: one row per revoked id, kept until the token has expired.
 */
import type { Sql } from 'postgres';
import type { RevokedEntry } from './revocation-filter.js';

export interface RevocationRecordInput extends RevokedEntry {
  customerId: string;
  kind: string;
  revokedBy: string;
}

export class RevocationStore {
  readonly #sql: Sql;

  constructor(sql: Sql) {
    this.#sql = sql;
  }

  /** Records a revocation; returns false if the id was revoked already. */
  async revoke(entry: RevocationRecordInput): Promise<boolean> {
    const rows = await this.#sql`
      INSERT INTO auth.revocations (jti, customer_id, kind, expires_at, revoked_by)
      VALUES (${entry.jti}, ${entry.customerId}, ${entry.kind}, to_timestamp(${entry.exp}), ${entry.revokedBy})
      ON CONFLICT (jti) DO NOTHING
      RETURNING jti`;
    return rows.length > 0;
  }

  /** Which of `ids` are revoked. */
  async revokedAmong(ids: readonly string[]): Promise<string[]> {
    const rows = await this.#sql<{ jti: string }[]>`
      SELECT jti FROM auth.revocations WHERE jti = ANY(${ids as string[]})`;
    return rows.map((r) => r.jti);
  }

  /** Revocations recorded at or after `since` (seconds since the epoch). */
  async revokedSince(since: number): Promise<RevokedEntry[]> {
    const rows = await this.#sql<{ jti: string; exp: number }[]>`
      SELECT jti, extract(epoch FROM expires_at)::bigint::int AS exp
      FROM auth.revocations
      WHERE revoked_at >= to_timestamp(${since}) AND expires_at > now() - interval '1 hour'
      ORDER BY revoked_at`;
    return [...rows];
  }

  /** Every revocation whose token has not expired, in batches. */
  async *unexpired(batchSize = 5000): AsyncIterable<RevokedEntry[]> {
    const cursor = this.#sql<{ jti: string; exp: number }[]>`
      SELECT jti, extract(epoch FROM expires_at)::bigint::int AS exp
      FROM auth.revocations WHERE expires_at > now() - interval '1 hour'`.cursor(batchSize);
    for await (const rows of cursor) yield [...rows];
  }

  /** Deletes rows whose token expired more than a day ago; returns how many. */
  async prune(): Promise<number> {
    const rows = await this.#sql`
      DELETE FROM auth.revocations WHERE expires_at < now() - interval '1 day' RETURNING jti`;
    return rows.length;
  }
}
