/** bench/lib/perf-steady.ts on made-up `perf script` text whose answers are known. */
import { describe, expect, it } from 'vitest';
import { steadyProfiles } from '../../bench/lib/perf-steady.js';

const line = (pid: number, t: number, sym: string, dso: string) =>
  `${pid}/${pid} ${t.toFixed(6)}:  ffffffff8100 ${sym} (${dso})`;

/** `seconds` of samples for `pid`: per second, `es256` crypto samples and `other` of each kind. */
function party(pid: number, seconds: number[], es256: number[], other: number): string[] {
  const out: string[] = [];
  seconds.forEach((s, i) => {
    for (let k = 0; k < es256[i]!; k++)
      out.push(line(pid, 1000 + s + k / 1000, '__ecp_nistz256_mul_montx', '/usr/bin/node'));
    for (let k = 0; k < other; k++) {
      out.push(line(pid, 1000 + s + 0.5 + k / 1000, 'tcp_sendmsg', '[kernel.kallsyms]'));
      out.push(
        line(pid, 1000 + s + 0.6 + k / 1000, 'JS:*handler file:///x.js:1', '/tmp/perf-9.map'),
      );
    }
  });
  return out;
}

describe('steadyProfiles', () => {
  it('counts only the steady seconds, in units of ES256 work, per party and symbol', () => {
    const text = [
      'header line perf prints',
      // service: a warm-up second with little ES256 work (left out), then three steady seconds
      ...party(11, [0, 1, 2, 3], [10, 100, 100, 90], 50),
      ...party(12, [0, 1, 2, 3], [10, 100, 100, 90], 50),
      // ceiling: steady from the start, half the other work
      ...party(21, [0, 1, 2], [100, 100, 100], 25),
      line(99, 1001, 'something else', '/usr/bin/node'),
    ].join('\n');
    const p = steadyProfiles(text, { service: ['11', '12'], ceiling: ['21'] });
    expect(p.service!.steadySeconds).toBe(3);
    // per steady second and worker: 100 or 90 ES256 samples, 50 kernel and 50 JIT ones
    expect(p.service!.samples).toBe(2 * (290 + 3 * 100));
    expect(p.service!.unitsPerRequest).toBeCloseTo((290 + 300) / 290, 6);
    expect(p.service!.bySymbol.get('kernel tcp_sendmsg')).toBeCloseTo(150 / 290, 6);
    expect(p.service!.bySymbol.get('jit JS:*handler file:///x.js:1')).toBeCloseTo(150 / 290, 6);
    expect(p.ceiling!.steadySeconds).toBe(3);
    expect(p.ceiling!.unitsPerRequest).toBeCloseTo(1.5, 6);
  });

  it('says so when a party has no ES256 work (wrong pids)', () => {
    const text = party(11, [0], [10], 1).join('\n');
    expect(() => steadyProfiles(text, { service: ['11'], ceiling: ['7', '8'] })).toThrow(
      /no ES256 work among 0 samples of ceiling \(pids 7, 8\)/,
    );
  });
});
