/**
 * The benchmark's verdicts: ratios, goals, the queueing floor and CPU per answer, from made-up
 * figures whose answers are known.
 */
import { describe, expect, it } from 'vitest';
import type { Measured } from '../../bench/lib/measure.js';
import {
  cpuPerAnswerLines,
  goals,
  latencyFloorLines,
  ratios,
  type Figures,
} from '../../bench/lib/report.js';
import type { PropagationResult } from '../../bench/lib/propagation.js';
import { summarize } from '../../bench/lib/stats.js';
import { judgeAnswer } from '../../bench/lib/answer.js';

function measured(rps: number, over: Partial<Measured> = {}): Measured {
  return {
    requests: rps * 5,
    seconds: 5,
    rps,
    latencyMs: summarize([1, 2, 3]),
    errors: { socket: 0, timeouts: 0, wrongStatus: 0, wrongAnswer: 0, total: 0 },
    statusCodes: { 200: rps * 5 },
    bodiesSent: rps * 6,
    distinctBodies: rps * 6,
    generatorCpuSeconds: 1,
    peakRssPerWorkerBytes: [80e6, 80e6],
    cpuPercent: { worker1: 70, worker2: 74, generator: 58, machine: 200 },
    ...over,
  };
}

function p99(ms: number): Measured['latencyMs'] {
  return { ...summarize([ms]), p99: ms };
}

function propagation(maxMs: number, over: Partial<PropagationResult> = {}): PropagationResult {
  return {
    trials: 20,
    pollers: 8,
    pollersPerWorker: {},
    otherWorkerMs: { ...summarize([maxMs / 2, maxMs]), max: maxMs },
    sameWorkerMs: summarize([1]),
    timedOut: 0,
    requests: 1000,
    rps: 9000,
    latencyMs: summarize([1]),
    errors: 0,
    ...over,
  };
}

function figures(over: Partial<Figures> = {}): Figures {
  return {
    crypto: { signPerSecond: 38_000, verifyPerSecond: 14_000, inputBytes: 581 },
    floor: measured(26_000),
    httpCeiling: measured(10_000),
    cold: measured(7_000),
    repeated: measured(13_000),
    mint: measured(6_000),
    propagation: propagation(12),
    serviceWorkerPeakRssBytes: [150 * 1024 * 1024, 140 * 1024 * 1024],
    ...over,
  };
}

const verdict = (f: Figures, goal: string) => goals(f).find((g) => g.goal.startsWith(goal));

describe('bench report', () => {
  it('takes each ratio against the right reference', () => {
    expect(ratios(figures())).toEqual({
      'cold verify / HTTP ceiling': 0.7,
      'repeated verify / floor': 0.5,
      'mint / crypto signing rate': 6_000 / 38_000,
      'HTTP ceiling / floor': 10_000 / 26_000,
    });
  });

  it('meets a ratio goal at its bound and misses it just below', () => {
    expect(verdict(figures(), 'cold verify / HTTP ceiling')?.met).toBe(true);
    expect(verdict(figures({ cold: measured(6_990) }), 'cold verify')?.met).toBe(false);
    expect(verdict(figures({ repeated: measured(12_990) }), 'repeated verify')?.met).toBe(false);
    // Judged by the ratios it is given (the median of the rounds'), not the table's rows.
    const r = { ...ratios(figures()), 'cold verify / HTTP ceiling': 0.65 };
    expect(goals(figures(), r).find((g) => g.goal.startsWith('cold'))?.met).toBe(false);
  });

  it('mint needs 3,000 a second', () => {
    expect(verdict(figures({ mint: measured(3_000) }), 'mint')?.met).toBe(true);
    expect(verdict(figures({ mint: measured(2_999) }), 'mint')?.met).toBe(false);
  });

  it('p99 is judged saturated and paced, and a paced run with errors does not pass', () => {
    const f = figures({
      cold: measured(7_000, { latencyMs: p99(28) }),
      coldPaced: measured(3_500, { latencyMs: p99(6) }),
      repeatedPaced: measured(6_500, {
        latencyMs: p99(4),
        errors: { socket: 1, timeouts: 0, wrongStatus: 0, wrongAnswer: 0, total: 1 },
      }),
    });
    expect(verdict(f, 'verify p99 < 10 ms (cold)')?.met).toBe(false);
    expect(verdict(f, 'verify p99 < 10 ms (cold, paced')?.met).toBe(true);
    expect(verdict(f, 'verify p99 < 10 ms (repeated, paced')?.met).toBe(false);
    expect(verdict(f, 'no errors')).toMatchObject({ measured: '1', met: false });
  });

  it('propagation needs every trial seen, none timed out, the slowest under 100 ms', () => {
    expect(verdict(figures(), 'revoke')?.met).toBe(true);
    expect(verdict(figures({ propagation: propagation(100) }), 'revoke')?.met).toBe(false);
    expect(verdict(figures({ propagation: propagation(12, { timedOut: 1 }) }), 'revoke')?.met).toBe(
      false,
    );
    const none = propagation(0, { otherWorkerMs: summarize([]) });
    expect(verdict(figures({ propagation: none }), 'revoke')?.met).toBe(false);
  });

  it('counts errors of every scenario, propagation included', () => {
    expect(verdict(figures(), 'no errors')?.met).toBe(true);
    const f = figures({ propagation: propagation(12, { errors: 2 }) });
    expect(verdict(f, 'no errors')).toMatchObject({ measured: '2', met: false });
    const wrong = measured(7_000, {
      errors: { socket: 0, timeouts: 0, wrongStatus: 0, wrongAnswer: 3, total: 3 },
    });
    expect(verdict(figures({ cold: wrong }), 'no errors')?.measured).toBe('3');
  });

  it('judges RSS on the highest worker', () => {
    expect(verdict(figures(), 'RSS')).toMatchObject({ measured: '150 MB', met: true });
    const f = figures({ serviceWorkerPeakRssBytes: [100e6, 200 * 1024 * 1024] });
    expect(verdict(f, 'RSS')?.met).toBe(false);
  });

  it("gives Little's law's floor for each saturated scenario", () => {
    const lines = latencyFloorLines(figures({ cold: measured(6_400) }), 64);
    expect(lines).toContain(
      '  cold verify: 64 connections / 6,400 per second = 10.0 ms mean, so p99 >= that',
    );
  });

  it('gives CPU per answer from the CPU shares and the rate', () => {
    const f = figures({
      cold: measured(5_000, { cpuPercent: { worker1: 73, worker2: 72, generator: 40 } }),
    });
    const lines = cpuPerAnswerLines(f);
    // 144 % of a core at 10,000/s is 144 us an answer; 145 % at 5,000/s is 290 us.
    expect(lines).toContain('  HTTP ceiling: 144 / 58');
    expect(lines).toContain('  cold verify: 290 / 80 (HTTP ceiling ÷ cold: 0.50)');
    expect(lines.some((l) => l.startsWith('  1/10 revoked'))).toBe(false);
  });
});

describe('bench answers', () => {
  const spec = { expectStatus: 200, expectActive: true, inactiveEvery: 10 };

  it('a wrong status, or an active answer where the token was revoked, is an error', () => {
    expect(judgeAnswer(spec, 100, 1, 200, '{"active":true,"kind":"agent"}')).toBe('ok');
    expect(judgeAnswer(spec, 100, 1, 503, '{"active":true}')).toBe('wrongStatus');
    // Every tenth body of the pool is a revoked token, whichever lap of the pool it is sent in.
    expect(judgeAnswer(spec, 100, 110, 200, '{"active":false}')).toBe('ok');
    expect(judgeAnswer(spec, 100, 110, 200, '{"active":true}')).toBe('wrongAnswer');
    expect(judgeAnswer(spec, 100, 111, 200, '{"active":false}')).toBe('wrongAnswer');
  });

  it('without an expected answer only the status counts', () => {
    expect(judgeAnswer({ expectStatus: 201 }, 8, 3, 201, 'anything')).toBe('ok');
    expect(judgeAnswer({ expectStatus: 201 }, 8, 3, 429, 'anything')).toBe('wrongStatus');
  });
});
