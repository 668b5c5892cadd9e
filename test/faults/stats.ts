/**
 * What one scenario did and what went wrong, printed as one row of the suite's table.
 */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export type Op = 'mint' | 'verify' | 'revoke' | 'probe' | 'abuse' | 'audit' | 'admin';

export class ScenarioStats {
  readonly name: string;
  readonly startedAt = Date.now();
  endedAt: number | undefined;
  requests = 0;
  readonly statuses = new Map<string, number>();
  readonly byOp = new Map<Op, Map<string, number>>();
  minted = 0;
  revoked = 0;
  /** A token whose revocation had been acknowledged more than a second earlier verified active. */
  revokedReportedActive = 0;
  /** A token the ledger says is valid was answered inactive, or refused as a parent (401). */
  validWronglyRefused = 0;
  /** Revocations the service acknowledged that the database does not hold. */
  lostRevocations = 0;
  /** Responses of 5xx other than 503, or 503 without problem+json. */
  badServerErrors = 0;
  recoverMs: number | undefined;
  readonly samples: string[] = [];
  readonly checks: Check[] = [];

  constructor(name: string) {
    this.name = name;
  }

  count(op: Op, status: string): void {
    this.requests++;
    this.statuses.set(status, (this.statuses.get(status) ?? 0) + 1);
    let m = this.byOp.get(op);
    if (!m) this.byOp.set(op, (m = new Map()));
    m.set(status, (m.get(status) ?? 0) + 1);
  }

  sample(line: string): void {
    if (this.samples.length < 20) this.samples.push(line);
  }

  check(name: string, ok: boolean, detail = ''): void {
    this.checks.push({ name, ok, detail });
  }

  /** Non-2xx answers and network failures, by status. */
  errors(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [s, n] of [...this.statuses].sort()) if (!/^2\d\d$/.test(s)) out[s] = n;
    return out;
  }

  opStatuses(op: Op): Record<string, number> {
    return Object.fromEntries([...(this.byOp.get(op) ?? new Map<string, number>())].sort());
  }

  get passed(): boolean {
    return (
      this.revokedReportedActive === 0 &&
      this.validWronglyRefused === 0 &&
      this.lostRevocations === 0 &&
      this.badServerErrors === 0 &&
      this.checks.every((c) => c.ok)
    );
  }
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

/** The per-scenario table and, under it, every failed check. */
export function formatTable(rows: readonly ScenarioStats[]): string {
  const header = [
    'scenario',
    'requests',
    'errors by status',
    'minted',
    'revoked',
    'revoked→active',
    'valid refused',
    'recover',
    'time',
    'result',
  ];
  const lines = rows.map((s) => [
    s.name,
    String(s.requests),
    Object.entries(s.errors())
      .map(([k, v]) => `${k}:${v}`)
      .join(' ') || '-',
    String(s.minted),
    String(s.revoked),
    String(s.revokedReportedActive),
    String(s.validWronglyRefused),
    s.recoverMs === undefined ? '-' : `${(s.recoverMs / 1000).toFixed(2)} s`,
    `${(((s.endedAt ?? Date.now()) - s.startedAt) / 1000).toFixed(1)} s`,
    s.passed ? 'PASS' : 'FAIL',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? '').length)));
  const fmt = (cols: string[]) => cols.map((c, i) => pad(c, widths[i] ?? 0)).join(' | ');
  const out = [fmt(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...lines.map(fmt)];
  for (const s of rows) {
    for (const c of s.checks) {
      out.push(
        `  ${c.ok ? 'ok  ' : 'FAIL'} ${s.name}: ${c.name}${c.detail ? ` (${c.detail})` : ''}`,
      );
    }
    if (s.lostRevocations > 0) out.push(`  FAIL ${s.name}: ${s.lostRevocations} lost revocations`);
    if (s.badServerErrors > 0) out.push(`  FAIL ${s.name}: ${s.badServerErrors} bad 5xx answers`);
    for (const line of s.samples) out.push(`       ${s.name}: ${line}`);
  }
  return out.join('\n');
}
