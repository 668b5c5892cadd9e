/**
 * Two builds or settings of the service, side by side: how much CPU a cold verify costs each.
 *
 * `npm run bench` compares parties one after the other, and on this shared machine two runs of
 * the same build differ by up to ±10 % in CPU per answer. Here both sides run at the same time,
 * one worker each, each paced at the same rate (open loop, `paced.ts`) with cold tokens, so
 * whatever else the machine does falls on both alike; two copies of one build agree within
 * ~2 µs per answer. Each round gives each side's CPU per answer (its worker's CPU time over the
 * round ÷ requests sent) and the difference; the summary is the median of each and how many
 * rounds favour each side. Which side starts its load first alternates by round.
 *
 * Usage (real Postgres and Redis on free loopback ports, nothing left running):
 *
 *   npx tsx bench/paired.ts <git revision>   the working tree (B) against that revision (A)
 *   npx tsx bench/paired.ts                  the working tree against itself (A/A: the noise)
 *
 * Options (environment): BENCH_PAIRED_ENV_A, BENCH_PAIRED_ENV_B (JSON objects of extra service
 * variables for each side, e.g. '{"AUTH_LOG_LEVEL":"warn"}'), BENCH_PAIRED_NODE_FLAGS_A,
 * BENCH_PAIRED_NODE_FLAGS_B (extra node flags for each side's service, space-separated, e.g.
 * '--min-semi-space-size=8'; its worker gets them too), BENCH_PAIRED_ROUNDS (10),
 * BENCH_PAIRED_RATE (2000 verifies a second per side), BENCH_PAIRED_SECONDS (8 measured, after
 * 1 of warm-up), BENCH_PAIRED_CEILING=1 (the HTTP ceiling of bench/README.md as a third party, one
 * worker, same rate and tokens). The first round includes each side's JIT warm-up: read the
 * rounds after it. The database is migrated by the working tree's migrations.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startBaselineServer } from './lib/baseline.js';
import { build } from './lib/build.js';
import { stop, stopAll } from './lib/children.js';
import { measureLoad } from './lib/measure.js';
import { cpuSeconds } from './lib/procfs.js';
import { median } from './lib/stats.js';
import { createCredentials, startBackends, startService } from './lib/service-stack.js';
import { tokenFactory } from './lib/token-pool.js';

const root = resolve(import.meta.dirname, '..');
const revision = process.argv[2];
const rounds = Number(process.env.BENCH_PAIRED_ROUNDS ?? 10);
const rate = Number(process.env.BENCH_PAIRED_RATE ?? 2000);
const seconds = Number(process.env.BENCH_PAIRED_SECONDS ?? 8);
const withCeiling = process.env.BENCH_PAIRED_CEILING === '1';
const envOf = (name: string): Record<string, string> =>
  JSON.parse(process.env[name] ?? '{}') as Record<string, string>;
const flagsOf = (name: string): string[] => (process.env[name] ?? '').split(' ').filter(Boolean);

/** The service of `rev` compiled: its files extracted inside node_modules (see build). */
function buildRevision(rev: string): string {
  const source = join(root, 'node_modules', '.cache', 'quint-paired', 'source');
  rmSync(source, { recursive: true, force: true });
  mkdirSync(source, { recursive: true });
  const tar = `${source}.tar`;
  execFileSync('git', ['archive', '--format=tar', `--output=${tar}`, rev], { cwd: root });
  execFileSync('tar', ['-x', '-f', tar, '-C', source]);
  rmSync(tar);
  return build(root, source, 'quint-paired').out;
}

interface Party {
  name: string;
  url: string;
  path: string;
  pid: number;
}

const head = build(root).out;
const base = revision === undefined ? head : buildRevision(revision);
const tmp = mkdtempSync(join(tmpdir(), 'quint-paired-'));
const backends = await startBackends();
try {
  const masterKey = randomBytes(32).toString('base64');
  // The customer and its tokens are made through a service of their own, stopped before the two
  // sides start: neither side then holds state or compiled code the other lacks.
  const setupDir = join(tmp, 'setup');
  mkdirSync(setupDir);
  const setup = await startService(backends, {
    out: head,
    workers: 1,
    logDir: setupDir,
    env: { AUTH_MASTER_KEY: masterKey },
  });
  const creds = await createCredentials(setup, backends.databaseUrl);
  const factory = await tokenFactory(setup.env, creds.appToken, creds.bearer);
  await stop(setup.primary);
  const sides = [
    {
      name: revision === undefined ? 'A (working tree)' : `A (${revision})`,
      out: base,
      env: envOf('BENCH_PAIRED_ENV_A'),
      nodeFlags: flagsOf('BENCH_PAIRED_NODE_FLAGS_A'),
    },
    {
      name: 'B (working tree)',
      out: head,
      env: envOf('BENCH_PAIRED_ENV_B'),
      nodeFlags: flagsOf('BENCH_PAIRED_NODE_FLAGS_B'),
    },
  ];
  const parties: Party[] = [];
  for (const [i, side] of sides.entries()) {
    const logDir = join(tmp, `side-${i}`);
    mkdirSync(logDir);
    const service = await startService(backends, {
      out: side.out,
      workers: 1,
      logDir,
      nodeFlags: side.nodeFlags,
      env: { AUTH_MASTER_KEY: masterKey, ...side.env },
    });
    parties.push({
      name: side.name,
      url: service.url,
      path: '/v1/tokens/verify',
      pid: service.workerPids[0] as number,
    });
  }
  if (withCeiling) {
    const jwk = await factory.publicJwk();
    const ceiling = await startBaselineServer(head, 'verify', 1, [jwk.x, jwk.y]);
    parties.push({
      name: 'HTTP ceiling',
      url: ceiling.url,
      path: '/verify',
      pid: ceiling.watched.workers[0] as number,
    });
  }
  const perSide = Math.ceil(rate * (seconds + 1) * 1.2);
  const spec = {
    method: 'POST' as const,
    headers: {},
    connections: 16,
    warmupSeconds: 1,
    durationSeconds: seconds,
    expectStatus: 200,
    expectActive: true,
    overallRate: rate,
  };
  const us: number[][] = parties.map(() => []);
  process.stdout.write(
    `${rounds} rounds of ${seconds} s, ${rate} cold verifies/s per party, 1 worker each; ` +
      `CPU µs per answer:\n  round  ${parties.map((p) => p.name.padStart(18)).join('  ')}   B - A\n`,
  );
  for (let r = 0; r < rounds; r++) {
    const bodies = await Promise.all(
      parties.map(async () =>
        (await factory.agents(perSide)).map((token) => JSON.stringify({ token })),
      ),
    );
    const before = parties.map((p) => cpuSeconds(p.pid));
    const order = parties.map((_, i) => (i + r) % parties.length);
    const measured = await Promise.all(
      order.map((i) => {
        const p = parties[i]!;
        return measureLoad(
          head,
          tmp,
          `p${i}-r${r}`,
          { ...spec, url: p.url, path: p.path },
          bodies[i]!,
          {
            workers: [p.pid],
            others: {},
          },
        ).then((m) => ({ i, m }));
      }),
    );
    for (const { i, m } of measured) {
      if (m.errors.total > 0)
        throw new Error(`${parties[i]!.name}: ${m.errors.total} errors in round ${r}`);
      us[i]!.push(((cpuSeconds(parties[i]!.pid) - before[i]!) * 1e6) / m.bodiesSent);
    }
    const row = parties.map((_, i) => us[i]![r]!.toFixed(1).padStart(18)).join('  ');
    process.stdout.write(
      `  ${String(r).padStart(5)}  ${row}   ${(us[1]![r]! - us[0]![r]!).toFixed(1).padStart(5)}\n`,
    );
  }
  const later = (xs: number[]) => (xs.length > 1 ? xs.slice(1) : xs);
  const diffs = later(us[1]!).map((b, r) => b - later(us[0]!)[r]!);
  process.stdout.write(
    `\nrounds after the first: ` +
      parties.map((p, i) => `${p.name} median ${median(later(us[i]!)).toFixed(1)} µs`).join(', ') +
      `\nB - A: median ${median(diffs).toFixed(1)} µs (${Math.min(...diffs).toFixed(1)} to ` +
      `${Math.max(...diffs).toFixed(1)}); B lower in ${diffs.filter((d) => d < 0).length} of ${diffs.length} rounds\n`,
  );
  if (withCeiling) {
    for (const i of [0, 1]) {
      const ratios = later(us[2]!).map((c, r) => c / later(us[i]!)[r]!);
      process.stdout.write(
        `HTTP ceiling ÷ ${parties[i]!.name}, CPU per answer: median ${median(ratios).toFixed(3)}\n`,
      );
    }
  }
  await factory.close();
} finally {
  await stopAll();
  await Promise.allSettled([backends.postgres.destroy(), backends.redis.destroy()]);
  rmSync(tmp, { recursive: true, force: true });
}
