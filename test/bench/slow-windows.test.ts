/**
 * Where a paced run's slow answers fall: made-up traces whose windows are known.
 */
import { describe, expect, it } from 'vitest';
import { slowWindows } from '../../bench/lib/slow-windows.js';

/** A trace at one answer a millisecond for `ms` ms, every latency `base` but where `at` says. */
function trace(ms: number, base: number, at: Record<number, number> = {}) {
  const dueMs = Array.from({ length: ms }, (_, i) => i);
  return { dueMs, latencyMs: dueMs.map((d) => at[d] ?? base) };
}

describe('slowWindows', () => {
  it('packs a stall into its window', () => {
    const stall: Record<number, number> = {};
    for (let d = 420; d < 441; d++) stall[d] = 30 - (d - 420); // 30 … 10 ms: 10 is not over
    const s = slowWindows(trace(1000, 1, { ...stall, 905: 12 }), 10);
    expect(s.slow).toBe(21); // the stall's 20 (30 … 11 ms) and the one at 905
    expect(s.windows).toBe(10);
    expect(s.windowsWithSlow).toBe(2);
    expect(s.worst[0]).toEqual({ startMs: 400, slow: 20, maxMs: 30 });
    expect(s.worst[1]).toEqual({ startMs: 900, slow: 1, maxMs: 12 });
    expect(s.shareInWorst).toBe(1);
    expect(s.latency.max).toBe(30);
  });

  it('keeps only the worst windows, and says what share of the slow answers they hold', () => {
    const spread: Record<number, number> = {};
    for (let w = 0; w < 10; w++) spread[w * 100 + 50] = 11;
    spread[551] = 15;
    const s = slowWindows(trace(1000, 2, spread), 10, 100, 2);
    expect(s.slow).toBe(11);
    expect(s.windowsWithSlow).toBe(10);
    expect(s.worst.map((w) => w.startMs)).toEqual([500, 0]);
    expect(s.shareInWorst).toBeCloseTo(3 / 11, 10);
  });

  it('reports nothing slow when nothing is', () => {
    const s = slowWindows(trace(300, 1), 10);
    expect(s).toMatchObject({ slow: 0, windowsWithSlow: 0, worst: [], shareInWorst: 0 });
    expect(s.windows).toBe(3);
  });

  it('refuses a trace whose two lists differ in length', () => {
    expect(() => slowWindows({ dueMs: [0, 1], latencyMs: [1] }, 10)).toThrow(
      /2 due times but 1 latencies/,
    );
  });
});
