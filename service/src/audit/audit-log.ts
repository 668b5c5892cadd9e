/**
 * The audit trail: who did what, when, to which customer. Never a raw token or key: targets are
 * token ids, key ids and customer ids.
 */
import type { Sql, TransactionSql } from 'postgres';

export type AuditAction =
  | 'token.mint'
  | 'token.revoke'
  | 'app_token.create'
  | 'signing_key.create'
  | 'signing_key.rotate'
  | 'signing_key.reencrypt'
  | 'bootstrap.app_token';

export interface AuditEvent {
  customerId: string | null;
  /** Who: `admin`, `bootstrap`, `app:<id>`, `<kind>:<jti>`. */
  actor: string;
  action: AuditAction;
  target?: string | null;
  details?: Record<string, unknown>;
}

export interface StoredAuditEvent extends Required<AuditEvent> {
  id: string;
  occurredAt: string;
}

/** Records one event, in the caller's transaction when given one. */
export async function recordAudit(sql: Sql | TransactionSql, event: AuditEvent): Promise<void> {
  await sql`
    INSERT INTO auth.audit_events (customer_id, actor, action, target, details)
    VALUES (${event.customerId}, ${event.actor}, ${event.action}, ${event.target ?? null},
            ${sql.json((event.details ?? {}) as never)})`;
}

/** A customer's events, newest first. */
export async function listAudit(
  sql: Sql,
  customerId: string,
  options: { limit?: number; before?: string } = {},
): Promise<StoredAuditEvent[]> {
  const limit = Math.min(Math.max(options.limit ?? 100, 1), 1000);
  const rows = await sql<
    {
      id: string;
      occurred_at: Date;
      customer_id: string | null;
      actor: string;
      action: AuditAction;
      target: string | null;
      details: Record<string, unknown>;
    }[]
  >`
    SELECT e.id::text AS id, occurred_at, customer_id, actor, action, target, details
    FROM auth.audit_events e
    WHERE customer_id = ${customerId}
      ${options.before ? sql`AND e.id < ${options.before}::bigint` : sql``}
    -- e.id, the number: a bare "id" would be the text column above, and "10" < "9".
    ORDER BY e.id DESC
    LIMIT ${limit}`;
  return rows.map((r) => ({
    id: r.id,
    occurredAt: r.occurred_at.toISOString(),
    customerId: r.customer_id,
    actor: r.actor,
    action: r.action,
    target: r.target,
    details: r.details,
  }));
}
