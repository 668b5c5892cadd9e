/**
 * Summarises the traces paced runs leave with `BENCH_PACED_TRACE=<dir>` (paced.ts): per file,
 * the latency percentiles, how many answers were slower than a threshold, in how many 100 ms
 * windows they fell, and the worst windows. Slow answers packed into a few windows are stalls;
 * spread over the run, queueing.
 *
 * Usage: npx tsx bench/paced-trace.ts [--slow <ms>] <trace.json>…   (threshold default 10 ms)
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { PacedTrace } from './load.js';
import { slowWindows } from './lib/slow-windows.js';

const args = process.argv.slice(2);
let slowMs = 10;
if (args[0] === '--slow') {
  slowMs = Number(args[1]);
  args.splice(0, 2);
}
if (args.length === 0 || !(slowMs > 0)) {
  process.stderr.write('usage: paced-trace.ts [--slow <ms>] <trace.json>…\n');
  process.exit(2);
}
const f = (ms: number) => ms.toFixed(2);
for (const file of args) {
  let s;
  try {
    s = slowWindows(JSON.parse(readFileSync(file, 'utf8')) as PacedTrace, slowMs);
  } catch (error) {
    process.stderr.write(`paced-trace: ${file}: ${(error as Error).message}\n`);
    process.exit(1);
  }
  const l = s.latency;
  console.log(
    `${basename(file, '.json')}: ${l.samples} answers, p50 ${f(l.p50)} ms, p99 ${f(l.p99)} ms, ` +
      `max ${f(l.max)} ms; ${s.slow} over ${slowMs} ms, in ${s.windowsWithSlow} of ` +
      `${s.windows} windows of 100 ms (the ${s.worst.length} worst hold ` +
      `${Math.round(100 * s.shareInWorst)} %)`,
  );
  for (const w of s.worst) {
    console.log(`  from ${w.startMs} ms: ${w.slow} over ${slowMs} ms, slowest ${f(w.maxMs)} ms`);
  }
}
