/**
 * Whether an answer is the one the load spec expects, for both generators (load.ts, paced.ts).
 */
import type { LoadSpec } from '../load.js';

export type Verdict = 'ok' | 'wrongStatus' | 'wrongAnswer';

/** Judges the answer to the `i`-th request, whose body was `bodies[i % count]`. */
export function judgeAnswer(
  spec: Pick<LoadSpec, 'expectStatus' | 'expectActive' | 'inactiveEvery'>,
  count: number,
  i: number,
  status: number,
  body: string,
): Verdict {
  if (status !== spec.expectStatus) return 'wrongStatus';
  if (spec.expectActive === undefined) return 'ok';
  const every = spec.inactiveEvery;
  const wantActive = every !== undefined && (i % count) % every === 0 ? false : spec.expectActive;
  return body.startsWith('{"active":true') === wantActive ? 'ok' : 'wrongAnswer';
}
