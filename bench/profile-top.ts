/**
 * Summarises a V8 .cpuprofile (from `BENCH_CPU_PROF=<dir> npm run bench`): the functions with the
 * most self time, and the same grouped by package or file, so a missed goal can be explained
 * from a profile rather than a guess.
 *
 * Usage: npx tsx bench/profile-top.ts <file.cpuprofile> [rows]
 */
import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, rowsArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: tsx bench/profile-top.ts <file.cpuprofile> [rows]\n');
  process.exit(2);
}
const rows = Number(rowsArg ?? 25);
const profile = JSON.parse(readFileSync(file, 'utf8')) as {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
};
const selfUs = new Map<number, number>();
profile.samples.forEach((id, i) =>
  selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)),
);
const idle = new Set(
  profile.nodes.filter((n) => n.callFrame.functionName === '(idle)').map((n) => n.id),
);
let total = 0;
for (const [id, us] of selfUs) if (!idle.has(id)) total += us;

function where(url: string): string {
  if (url.includes('/quint-bench/out/')) return url.replace(/^.*\/quint-bench\/out\//, '');
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m?.[1]) return m[1];
  if (url.startsWith('node:')) return url;
  if (url === '') return '(native/V8)';
  return url;
}

const byFunction = new Map<string, number>();
const byPlace = new Map<string, number>();
for (const node of profile.nodes) {
  const us = selfUs.get(node.id) ?? 0;
  if (us === 0 || idle.has(node.id)) continue;
  const f = node.callFrame;
  const name = `${f.functionName || '(anonymous)'}  ${where(f.url)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + us);
  const place = where(f.url);
  byPlace.set(place, (byPlace.get(place) ?? 0) + us);
}

function print(title: string, m: Map<string, number>): void {
  process.stdout.write(`\n${title} (% of ${(total / 1e6).toFixed(2)} s busy, idle left out)\n`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    process.stdout.write(`${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}\n`);
  }
}

print('self time by function', byFunction);
print('self time by package or file', byPlace);
