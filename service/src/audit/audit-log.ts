/**
 * The audit trail: who did what, when, to which customer. Never a raw token or key: targets are
 * token ids, key ids and customer ids.
 */
import type { Sql, TransactionSql } from 'postgres';
import { TurnBatcher } from '../turn-batcher.js';

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

/** Events inserted by one statement at most. */
const MAX_EVENTS_PER_INSERT = 500;

/**
 * Records the events of concurrent requests together (a {@link TurnBatcher}): one INSERT, one
 * round trip and one commit for many mints instead of one each. Each caller's promise settles
 * once its own row is committed, so, as with {@link recordAudit}, nothing is answered before its
 * audit row is stored. If a batch fails, its events are retried one by one, so that one event
 * Postgres refuses fails alone.
 */
export class AuditBatcher {
  readonly #events: TurnBatcher<AuditEvent, void>;

  constructor(sql: Sql) {
    this.#events = new TurnBatcher((events) => insertAll(sql, events), MAX_EVENTS_PER_INSERT);
  }

  record(event: AuditEvent): Promise<void> {
    return this.#events.add(event);
  }
}

/** Inserts `events` in one statement; if that fails, each on its own (one result per event). */
async function insertAll(
  sql: Sql,
  events: AuditEvent[],
): Promise<readonly (void | Promise<void>)[]> {
  try {
    await sql`
      INSERT INTO auth.audit_events (customer_id, actor, action, target, details)
      SELECT r.customer_id, r.actor, r.action, r.target, r.details
      FROM jsonb_array_elements(${sql.json(events.map(row) as never)})
             WITH ORDINALITY AS e (value, n),
           jsonb_to_record(e.value)
             AS r (customer_id uuid, actor text, action text, target text, details jsonb)
      ORDER BY e.n`;
    return events.map(() => undefined);
  } catch (error) {
    if (events.length === 1) throw error;
    return events.map((e) => recordAudit(sql, e));
  }
}

function row(e: AuditEvent) {
  return {
    customer_id: e.customerId,
    actor: e.actor,
    action: e.action,
    target: e.target ?? null,
    details: e.details ?? {},
  };
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
