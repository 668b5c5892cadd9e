/**
 * Where a paced run's slow answers fall in time (from a {@link PacedTrace}). At an even rate,
 * steady queueing spreads slow answers over the whole run; a stall (a pause of the server, or of
 * the machine under it) packs them into a few short windows, and a bare server hit by the same
 * stalls shows the same packing.
 */
import type { PacedTrace } from '../load.js';
import { summarize, type LatencySummary } from './stats.js';

export interface SlowWindows {
  latency: LatencySummary;
  /** Answers slower than the threshold. */
  slow: number;
  /** Windows of `windowMs` in the run, and those holding at least one slow answer. */
  windows: number;
  windowsWithSlow: number;
  /** The windows holding the most slow answers, most first: start (ms), slow answers, slowest. */
  worst: { startMs: number; slow: number; maxMs: number }[];
  /** Of the slow answers, the share that the `worst` windows hold. */
  shareInWorst: number;
}

/** Groups `trace` into windows of `windowMs` by due time and counts answers over `slowMs`. */
export function slowWindows(
  trace: PacedTrace,
  slowMs: number,
  windowMs = 100,
  top = 5,
): SlowWindows {
  const { dueMs, latencyMs } = trace;
  if (dueMs.length !== latencyMs.length) {
    throw new Error(`trace has ${dueMs.length} due times but ${latencyMs.length} latencies`);
  }
  const byWindow = new Map<number, { slow: number; maxMs: number }>();
  let slow = 0;
  let last = 0;
  for (let i = 0; i < dueMs.length; i++) {
    const w = Math.floor((dueMs[i] as number) / windowMs);
    const ms = latencyMs[i] as number;
    last = Math.max(last, w);
    if (ms <= slowMs) continue;
    slow++;
    const entry = byWindow.get(w) ?? { slow: 0, maxMs: 0 };
    entry.slow++;
    entry.maxMs = Math.max(entry.maxMs, ms);
    byWindow.set(w, entry);
  }
  const worst = [...byWindow]
    .map(([w, e]) => ({ startMs: w * windowMs, ...e }))
    .sort((a, b) => b.slow - a.slow || a.startMs - b.startMs)
    .slice(0, top);
  const inWorst = worst.reduce((sum, w) => sum + w.slow, 0);
  return {
    latency: summarize(latencyMs),
    slow,
    windows: dueMs.length === 0 ? 0 : last + 1,
    windowsWithSlow: byWindow.size,
    worst,
    shareInWorst: slow === 0 ? 0 : inWorst / slow,
  };
}
