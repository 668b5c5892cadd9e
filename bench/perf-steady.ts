/**
 * Where a server's CPU goes per request in its steady state, from a system-wide `perf` profile.
 * Unlike `--cpu-prof` (V8's sampler: wall-clock time of the main thread), `perf` samples the CPU
 * time of every thread, the kernel's included. The recipe (bench/README.md, "Where the time goes
 * now"):
 *
 *   BENCH_ONLY=cold BENCH_ROUNDS=1 BENCH_NODE_FLAGS=--perf-basic-prof \
 *     perf record -F 997 -a -o perf.data -- npm run bench
 *   perf script -i perf.data -F pid,tid,time,ip,sym,dso > perf.txt
 *   npx tsx bench/perf-steady.ts perf.txt <service worker pids> [<HTTP ceiling worker pids>] [N]
 *
 * Pids are comma-separated: the service's workers are the /tmp/perf-<pid>.map files but the first
 * (the primary); the ceiling's workers show in `perf report -i perf.data --sort pid`. Steady
 * seconds are those in which a party did at least 85 % of its busiest second's ES256 work, so the
 * JIT's compiling and the warm-up are left out. Prints units of ES256 work per request, and the N
 * symbols (default 40) costing the service most beyond the ceiling (or, alone, most).
 */
import { readFileSync } from 'node:fs';
import { steadyProfiles } from './lib/perf-steady.js';

const [file, servicePids, ceilingPids, topArg] = process.argv.slice(2);
if (!file || !servicePids) {
  process.stderr.write(
    'usage: perf-steady.ts <perf script output> <service pids,…> [<ceiling pids,…>] [N]\n',
  );
  process.exit(2);
}
const parties: Record<string, string[]> = { service: servicePids.split(',') };
if (ceilingPids) parties.ceiling = ceilingPids.split(',');
let profiles;
try {
  profiles = steadyProfiles(readFileSync(file, 'utf8'), parties);
} catch (error) {
  process.stderr.write(`perf-steady: ${(error as Error).message}\n`);
  process.exit(1);
}
for (const [name, p] of Object.entries(profiles)) {
  console.log(
    `${name}: ${p.steadySeconds} steady seconds, ${p.samples} samples, ${p.unitsPerRequest.toFixed(3)} units of ES256 work per request`,
  );
}
const service = profiles.service!.bySymbol;
const ceiling = profiles.ceiling?.bySymbol;
const rows = [...new Set([...service.keys(), ...(ceiling?.keys() ?? [])])].map((k) => {
  const s = service.get(k) ?? 0;
  const c = ceiling?.get(k) ?? 0;
  return { k, s, c };
});
rows.sort((a, b) => (ceiling ? b.s - b.c - (a.s - a.c) : b.s - a.s));
console.log(
  ceiling ? '\nunits per request: service - ceiling, ceiling, service' : '\nunits per request',
);
for (const r of rows.slice(0, Number(topArg ?? 40))) {
  const k = r.k.slice(0, 110);
  console.log(
    ceiling
      ? `${(r.s - r.c).toFixed(3).padStart(7)} ${r.c.toFixed(3).padStart(6)} ${r.s.toFixed(3).padStart(6)}  ${k}`
      : `${r.s.toFixed(3).padStart(7)}  ${k}`,
  );
}
