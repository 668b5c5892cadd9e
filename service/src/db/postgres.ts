/**
 * The one postgres.js client per process. Timeouts are short so that a Postgres outage turns into
 * a prompt 503 rather than a hung request.
 */
import postgres, { type Sql } from 'postgres';

export interface DatabaseOptions {
  max?: number;
  /** Seconds to wait for a connection before failing. */
  connectTimeout?: number;
  /** Milliseconds a statement may run. */
  statementTimeoutMs?: number;
  applicationName?: string;
}

/** Delay before a closed connection is opened again (seconds). */
export const RECONNECT_BACKOFF_SECONDS = 0.1;

export function createSql(url: string, options: DatabaseOptions = {}): Sql {
  const sql = postgres(url, {
    max: options.max ?? 10,
    connect_timeout: options.connectTimeout ?? 3,
    idle_timeout: 60,
    max_lifetime: 60 * 30,
    // postgres.js waits before reconnecting for a backoff that grows with every failed attempt
    // (up to 20 s), and a query that arrives meanwhile waits with it: during an outage requests
    // would hang instead of failing with a 503, and recovery would lag. A short, flat delay keeps
    // each query bounded by connect_timeout; a refused connection costs one failed connect.
    backoff: () => RECONNECT_BACKOFF_SECONDS,
    onnotice: () => {},
    connection: {
      application_name: options.applicationName ?? 'quint-auth',
      statement_timeout: options.statementTimeoutMs ?? 5000,
    },
  });
  // postgres.js looks up array types on every new connection with a query nobody awaits: if
  // Postgres goes away during it, the rejection is unhandled and ends the process. One lookup
  // registers the parsers for the whole pool, so after the first query the others skip it.
  sql`SELECT 1`.then(
    () => {
      (sql.options as { fetch_types: boolean }).fetch_types = false;
    },
    () => {},
  );
  return sql;
}

/** Whether an error means Postgres could not be reached or did not answer (as opposed to a query error). */
export function isConnectionError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (
      [
        'ECONNREFUSED',
        'ECONNRESET',
        'ETIMEDOUT',
        'EPIPE',
        'ENOTFOUND',
        'EHOSTUNREACH',
        'CONNECT_TIMEOUT',
        'CONNECTION_CLOSED',
        'CONNECTION_ENDED',
        'CONNECTION_DESTROYED',
        '57P01',
        '57P02',
        '57P03',
        '57014',
        '08000',
        '08003',
        '08006',
        '08001',
        '08004',
        '53300',
      ].includes(code)
    ) {
      return true;
    }
  }
  return false;
}
