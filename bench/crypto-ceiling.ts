/**
 * The crypto ceiling: raw ES256 signatures and verifications per second with node:crypto on one
 * core (one synchronous loop, no HTTP, no library around it). Run as its own process by run.ts;
 * prints one JSON line on stdout.
 *
 * Usage: node crypto-ceiling.js <seconds per operation> <signing input>
 */
import { generateKeyPairSync, sign, verify } from 'node:crypto';

function rate(seconds: number, op: () => void): number {
  const warmUntil = performance.now() + 300;
  while (performance.now() < warmUntil) op();
  let n = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  let now = start;
  while (now < until) {
    for (let i = 0; i < 100; i++) op();
    n += 100;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

const seconds = Number(process.argv[2] ?? '2');
const input = Buffer.from(process.argv[3] ?? 'x'.repeat(500));
const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const signKey = { key: privateKey, dsaEncoding: 'ieee-p1363' as const };
const verifyKey = { key: publicKey, dsaEncoding: 'ieee-p1363' as const };
const signature = sign('sha256', input, signKey);

const signPerSecond = rate(seconds, () => {
  sign('sha256', input, signKey);
});
const verifyPerSecond = rate(seconds, () => {
  if (!verify('sha256', input, verifyKey, signature)) throw new Error('verify failed');
});
process.stdout.write(
  JSON.stringify({ signPerSecond, verifyPerSecond, inputBytes: input.length, seconds }) + '\n',
);
