/**
 * What a failed scenario shows of the service's own log: its error lines and worse, nothing else.
 */
import { describe, expect, it } from 'vitest';
import { serviceErrors } from './suite.js';

describe('serviceErrors', () => {
  const line = (level: number, msg: string) => JSON.stringify({ level, pid: 1, msg });

  it('keeps lines at level error (50) and fatal (60), in order', () => {
    const log = [
      line(30, 'started'),
      line(50, 'request failed'),
      line(40, 'slow'),
      line(60, 'gone'),
    ];
    expect(serviceErrors(log.join('\n'))).toEqual([
      `service: ${line(50, 'request failed')}`,
      `service: ${line(60, 'gone')}`,
    ]);
  });

  it('skips what is not a JSON line (stderr text, a line cut by the kept tail)', () => {
    const log = ['node: warning', '"level":50,"msg":"cut"}', line(50, 'whole')].join('\n');
    expect(serviceErrors(log)).toEqual([`service: ${line(50, 'whole')}`]);
  });

  it('keeps at most `max` lines, each shortened to 600 characters', () => {
    const long = line(50, 'x'.repeat(1000));
    const out = serviceErrors(Array(9).fill(long).join('\n'), 3);
    expect(out).toHaveLength(3);
    expect(out[0]).toBe(`service: ${long.slice(0, 600)}`);
  });
});
