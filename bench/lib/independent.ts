/**
 * Readers for the outputs of the independent tools `bench/independent.ts` runs beside the bench's
 * own: ApacheBench (`ab`, Debian's apache2-utils) and `openssl speed ecdsap256`. Each throws on
 * text it cannot read rather than return a figure it did not find.
 */

export interface AbResult {
  complete: number;
  failed: number;
  /** Answers whose status was not 2xx (ab prints the line only when there were some). */
  non2xx: number;
  /** Requests sent on a kept-alive connection (ab -k); fewer than `complete` means reconnects. */
  keepAlive: number;
  seconds: number;
  rps: number;
}

function field(text: string, label: string, what: string): number {
  const match = new RegExp(`^${label}:\\s+([0-9.]+)`, 'm').exec(text);
  if (!match) throw new Error(`ab output has no "${label}" line (${what})`);
  return Number(match[1]);
}

/** The figures of one `ab` run, from its report on stdout. */
export function parseAb(text: string): AbResult {
  const non2xx = /^Non-2xx responses:\s+([0-9]+)/m.exec(text);
  return {
    complete: field(text, 'Complete requests', 'did the run finish?'),
    failed: field(text, 'Failed requests', 'did the run finish?'),
    non2xx: non2xx ? Number(non2xx[1]) : 0,
    keepAlive: field(text, 'Keep-Alive requests', 'was it run with -k?'),
    seconds: field(text, 'Time taken for tests', 'did the run finish?'),
    rps: field(text, 'Requests per second', 'did the run finish?'),
  };
}

export interface OpensslEcdsa {
  signPerSecond: number;
  verifyPerSecond: number;
}

/** Signatures and verifications per second from `openssl speed ecdsap256`'s last table. */
export function parseOpensslSpeed(text: string): OpensslEcdsa {
  const match =
    /^\s*256 bits ecdsa \(nistp256\)\s+[0-9.]+s\s+[0-9.]+s\s+([0-9.]+)\s+([0-9.]+)\s*$/m.exec(text);
  if (!match) throw new Error('openssl speed output has no "256 bits ecdsa (nistp256)" row');
  return { signPerSecond: Number(match[1]), verifyPerSecond: Number(match[2]) };
}
