/**
 * Turns a run's measurements into the printed table, the ratios and the goal verdicts.
 */
import type { Measured } from './measure.js';
import type { PropagationResult } from './propagation.js';
import { fmtInt, fmtMb, fmtMs, table } from './stats.js';

export interface CryptoCeiling {
  signPerSecond: number;
  verifyPerSecond: number;
  inputBytes: number;
}

export interface Goal {
  goal: string;
  measured: string;
  met: boolean;
}

export type PacedName = 'httpCeilingPaced' | 'coldPaced' | 'repeatedPaced';

export interface Figures {
  crypto: CryptoCeiling;
  floor: Measured;
  httpCeiling: Measured;
  cold?: Measured;
  repeated?: Measured;
  revoked?: Measured;
  mint?: Measured;
  propagation?: PropagationResult;
  /** Paced at half the rate reached in the median round, same connections, open loop (paced.ts). */
  httpCeilingPaced?: Measured;
  coldPaced?: Measured;
  repeatedPaced?: Measured;
  /** VmHWM of each service worker at the end of the run. */
  serviceWorkerPeakRssBytes: number[];
}

/** The server workers' CPU together, % of one core. */
function serverPercent(m: Measured): number {
  return Object.entries(m.cpuPercent)
    .filter(([k]) => k.startsWith('worker'))
    .reduce((s, [, v]) => s + v, 0);
}

function cpu(m: Measured): string {
  const c = m.cpuPercent;
  const parts = [`srv ${serverPercent(m)}`, `gen ${c.generator ?? 0}`];
  if (c.postgres !== undefined) parts.push(`pg ${c.postgres}`, `redis ${c.redis ?? 0}`);
  const ours = Object.entries(c)
    .filter(([k]) => k !== 'machine')
    .reduce((s, [, v]) => s + v, 0);
  parts.push(`others ${Math.max(0, (c.machine ?? 0) - ours)}`);
  return parts.join(' / ');
}

function row(name: string, m: Measured): string[] {
  return [
    name,
    fmtInt(m.rps),
    fmtMs(m.latencyMs.p50),
    fmtMs(m.latencyMs.p99),
    String(m.errors.total),
    m.peakRssPerWorkerBytes.map(fmtMb).join(' / '),
    cpu(m),
  ];
}

export function render(f: Figures, connections: number): string {
  const rows: string[][] = [
    ['crypto ceiling: sign (1 core)', fmtInt(f.crypto.signPerSecond), '', '', '', '', ''],
    ['crypto ceiling: verify (1 core)', fmtInt(f.crypto.verifyPerSecond), '', '', '', '', ''],
    row('floor (bare Fastify, constant)', f.floor),
    row('HTTP ceiling (bare Fastify + 1 verify)', f.httpCeiling),
  ];
  if (f.cold) rows.push(row('1 verify, cold (distinct tokens)', f.cold));
  if (f.repeated) rows.push(row('2 verify, repeated (8 tokens)', f.repeated));
  if (f.revoked) rows.push(row('3 verify, 1/10 revoked (distinct)', f.revoked));
  if (f.mint) rows.push(row('4 mint agent from bearer', f.mint));
  if (f.httpCeilingPaced)
    rows.push(row('HTTP ceiling, paced at half its rate', f.httpCeilingPaced));
  if (f.coldPaced) rows.push(row('1 verify, cold, paced at half its rate', f.coldPaced));
  if (f.repeatedPaced)
    rows.push(row('2 verify, repeated, paced at half its rate', f.repeatedPaced));
  const p = f.propagation;
  if (p) {
    rows.push([
      '5 revoke -> rejected, other worker',
      fmtInt(p.rps),
      fmtMs(p.otherWorkerMs.p50),
      fmtMs(p.otherWorkerMs.p99),
      String(p.errors + p.timedOut),
      '',
      `${p.trials} trials, max ${fmtMs(p.otherWorkerMs.max)} ms`,
    ]);
  }
  const header = [
    `scenario (${connections} connections)`,
    'per second',
    'p50 ms',
    'p99 ms',
    'errors',
    'peak RSS/worker MB',
    'CPU, % of one core: server / generator / pg / redis / rest of machine',
  ];
  return table(header, rows);
}

export function ratios(f: Figures): Record<string, number> {
  const out: Record<string, number> = {};
  if (f.cold) out['cold verify / HTTP ceiling'] = f.cold.rps / f.httpCeiling.rps;
  if (f.repeated) out['repeated verify / floor'] = f.repeated.rps / f.floor.rps;
  if (f.mint) out['mint / crypto signing rate'] = f.mint.rps / f.crypto.signPerSecond;
  out['HTTP ceiling / floor'] = f.httpCeiling.rps / f.floor.rps;
  return out;
}

/** Verdicts; `r` are the ratios to judge by (by default those of `f` itself). */
export function goals(f: Figures, r: Record<string, number> = ratios(f)): Goal[] {
  const out: Goal[] = [];
  const ratio = (name: string, min: number) => {
    const v = r[name];
    if (v !== undefined)
      out.push({ goal: `${name} >= ${min}`, measured: v.toFixed(2), met: v >= min });
  };
  ratio('cold verify / HTTP ceiling', 0.7);
  ratio('repeated verify / floor', 0.5);
  if (f.mint) {
    out.push({
      goal: 'mint >= 3,000/s',
      measured: `${fmtInt(f.mint.rps)}/s`,
      met: f.mint.rps >= 3000,
    });
  }
  const p99 = (load: string, m: Measured | undefined, noErrors = false) => {
    if (m) {
      out.push({
        goal: `verify p99 < 10 ms (${load})`,
        measured: `${fmtMs(m.latencyMs.p99)} ms`,
        met: m.latencyMs.p99 < 10 && (!noErrors || m.errors.total === 0),
      });
    }
  };
  p99('cold', f.cold);
  p99('repeated', f.repeated);
  p99('revoked', f.revoked);
  // The same goal at ordinary load: half the rate reached, open loop (see latencyFloorLines for
  // why the saturated figure above is queueing).
  p99('cold, paced at half its rate', f.coldPaced, true);
  p99('repeated, paced at half its rate', f.repeatedPaced, true);
  if (f.propagation) {
    const max = f.propagation.otherWorkerMs.max;
    out.push({
      goal: 'revoke -> rejected < 100 ms across workers (max of trials)',
      measured: `${fmtMs(max)} ms`,
      met: max < 100 && f.propagation.timedOut === 0 && f.propagation.otherWorkerMs.samples > 0,
    });
  }
  const all = [f.cold, f.repeated, f.revoked, f.mint, f.coldPaced, f.repeatedPaced].filter(
    (m): m is Measured => m !== undefined,
  );
  const errors = all.reduce((s, m) => s + m.errors.total, 0) + (f.propagation?.errors ?? 0);
  out.push({ goal: 'no errors', measured: String(errors), met: errors === 0 });
  const peak = Math.max(0, ...f.serviceWorkerPeakRssBytes);
  out.push({
    goal: 'RSS per worker < 200 MB (VmHWM)',
    measured: `${fmtMb(peak)} MB`,
    met: peak < 200 * 1024 * 1024,
  });
  return out;
}

/**
 * Why the saturated p99 cannot be low with closed-loop load: each of `connections` waits for its
 * answer before sending again, so by Little's law the mean time in the system is connections ÷
 * throughput, and p99 is at least that.
 */
export function latencyFloorLines(f: Figures, connections: number): string[] {
  const lines: string[] = [];
  const add = (name: string, m: Measured | undefined) => {
    if (m && m.rps > 0) {
      lines.push(
        `  ${name}: ${connections} connections / ${fmtInt(m.rps)} per second = ${fmtMs((connections / m.rps) * 1000)} ms mean, so p99 >= that`,
      );
    }
  };
  add('HTTP ceiling', f.httpCeiling);
  add('cold verify', f.cold);
  add('repeated verify', f.repeated);
  add('1/10 revoked', f.revoked);
  return lines;
}

/** CPU seconds per second of the measured run, in µs per answer: `percent` of one core ÷ rate. */
function microsPerAnswer(percent: number, rps: number): number {
  return (percent * 10_000) / rps;
}

/**
 * CPU per answer (server workers, generator), from the CPU shares in the table: what each answer
 * cost the server, independent of how the cores were shared, and what it cost the generator on the
 * same cores. "ceiling ÷ cold" is how far the service's own work per request is from one raw
 * verification behind bare Fastify.
 */
export function cpuPerAnswerLines(f: Figures): string[] {
  const per = (m: Measured) => ({
    server: microsPerAnswer(serverPercent(m), m.rps),
    generator: microsPerAnswer(m.cpuPercent.generator ?? 0, m.rps),
  });
  const lines: string[] = [];
  const ceiling = f.httpCeiling.rps > 0 ? per(f.httpCeiling) : undefined;
  for (const [name, m] of [
    ['floor', f.floor],
    ['HTTP ceiling', f.httpCeiling],
    ['cold verify', f.cold],
    ['repeated verify', f.repeated],
    ['1/10 revoked', f.revoked],
    ['mint', f.mint],
  ] as const) {
    if (!m || !(m.rps > 0)) continue;
    const { server, generator } = per(m);
    const vsCeiling =
      name === 'cold verify' && ceiling && server > 0
        ? ` (HTTP ceiling ÷ cold: ${(ceiling.server / server).toFixed(2)})`
        : '';
    lines.push(`  ${name}: ${server.toFixed(0)} / ${generator.toFixed(0)}${vsCeiling}`);
  }
  return lines;
}
