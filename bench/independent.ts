/**
 * `npm run bench:independent`: the bench's ceilings checked against tools other than its own, on
 * the same machine, as issue 5 asks a reviewer to do.
 *
 * - Crypto: the bench's crypto ceiling (raw node:crypto ES256 on one core, `crypto-ceiling.ts`)
 *   beside `openssl speed -seconds 3 ecdsap256` (OpenSSL's own loop, no Node around it).
 * - HTTP: the floor, the HTTP ceiling and the service's repeated verify, each driven by the
 *   bench's generator (autocannon, `load.ts`) and by ApacheBench (`ab`, C, Debian's
 *   apache2-utils) with the same 64 keep-alive connections and the same body. Two passes, the
 *   generators in turn (autocannon then ab, then ab then autocannon), the mean of each
 *   generator's two runs. ab sends one body over and over, so cold verify (a new token every
 *   request) cannot be driven by it; the HTTP ceiling verifies the signature every time anyway.
 *
 * It prints a table and writes the same as JSON to bench/results/independent-<time>.json. About
 * 2½ minutes; everything it starts is stopped at the end (or on Ctrl-C).
 *
 * Options: BENCH_INDEPENDENT_SECONDS (8, per measured run), BENCH_CONNECTIONS (64).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ManagedServer } from '../scripts/support/servers.js';
import { startBaselineServer, type Baseline } from './lib/baseline.js';
import { build } from './lib/build.js';
import { runBenchScript, runToEnd, stopAll, stopEverythingOnExit } from './lib/children.js';
import { parseAb, parseOpensslSpeed, type AbResult, type OpensslEcdsa } from './lib/independent.js';
import { measureLoad, type Watched } from './lib/measure.js';
import { machine } from './lib/procfs.js';
import type { CryptoCeiling } from './lib/report.js';
import { createCredentials, mintAgents, startBackends, startService } from './lib/service-stack.js';
import { fmtInt, table } from './lib/stats.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKERS = 2;
const seconds = Number(process.env.BENCH_INDEPENDENT_SECONDS ?? 8);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const WARMUP_SECONDS = 1;

const servers: ManagedServer[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'quint-independent-'));

function progress(message: string): void {
  process.stderr.write(`[independent] ${message}\n`);
}

async function cleanup(): Promise<void> {
  await stopAll();
  await Promise.allSettled(servers.map((s) => s.destroy()));
  rmSync(tmp, { recursive: true, force: true });
}

stopEverythingOnExit(progress, cleanup);

const AB_MISSING = 'install ApacheBench (Debian: apt-get install -y apache2-utils)';

/** One ab run: a warm-up second first, then the measured run; non-2xx or failures are errors. */
async function ab(url: string, bodyFile: string): Promise<AbResult> {
  const args = (s: number) => [
    '-q',
    '-k',
    '-c',
    String(connections),
    '-t',
    String(s),
    // -t alone stops at 50,000 requests: far fewer than these servers answer in the time given.
    '-n',
    '100000000',
    '-p',
    bodyFile,
    '-T',
    'application/json',
    url,
  ];
  await runToEnd('ab', args(WARMUP_SECONDS), AB_MISSING);
  const result = parseAb(await runToEnd('ab', args(seconds), AB_MISSING));
  if (result.failed > 0 || result.non2xx > 0) {
    throw new Error(
      `ab against ${url}: ${result.failed} failed, ${result.non2xx} not 2xx of ${result.complete}`,
    );
  }
  return result;
}

interface Target {
  name: string;
  url: string;
  path: string;
  watched: Watched;
}

interface TargetFigures {
  name: string;
  autocannon: number[];
  ab: number[];
  abKeepAlive: number;
  abComplete: number;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function main(): Promise<void> {
  const host = machine();
  progress(`machine: ${host.cpuModel}, ${host.cores} logical cores`);
  // Fail early, before minutes of set-up, if ab is missing.
  await runToEnd('ab', ['-V'], AB_MISSING);
  progress('compiling the service and the benchmark (tsc)');
  const { out } = build(root);
  progress('starting Postgres, Redis and the service (AUTH_WORKERS=2)');
  const backends = await startBackends();
  servers.push(backends.postgres, backends.redis);
  const service = await startService(backends, { out, workers: WORKERS, logDir: tmp });
  const creds = await createCredentials(service, backends.databaseUrl);
  const [token] = await mintAgents(service, creds.bearer, 1);
  if (!token) throw new Error('no agent token minted');
  const jwks = (await (await fetch(`${service.url}/.well-known/jwks.json`)).json()) as {
    keys: { x: string; y: string }[];
  };
  const jwk = jwks.keys[0];
  if (!jwk) throw new Error('the service published no key');

  progress('crypto: node:crypto (the bench crypto ceiling), then openssl speed ecdsap256');
  const node = JSON.parse(
    await runBenchScript(out, 'crypto-ceiling.js', ['3', token.slice(0, token.lastIndexOf('.'))]),
  ) as CryptoCeiling;
  const openssl: OpensslEcdsa = parseOpensslSpeed(
    await runToEnd(
      'openssl',
      ['speed', '-seconds', '3', 'ecdsap256'],
      'install OpenSSL (Debian: apt-get install -y openssl)',
    ),
  );

  const floor: Baseline = await startBaselineServer(out, 'floor', WORKERS);
  const ceiling: Baseline = await startBaselineServer(out, 'verify', WORKERS, [jwk.x, jwk.y]);
  const body = JSON.stringify({ token });
  const bodyFile = join(tmp, 'body.json');
  writeFileSync(bodyFile, body);
  const targets: Target[] = [
    {
      name: 'floor (bare Fastify, constant)',
      url: floor.url,
      path: '/floor',
      watched: floor.watched,
    },
    {
      name: 'HTTP ceiling (bare Fastify + 1 verify)',
      url: ceiling.url,
      path: '/verify',
      watched: ceiling.watched,
    },
    {
      name: 'service: verify, repeated (one token)',
      url: service.url,
      path: '/v1/tokens/verify',
      watched: { workers: service.workerPids, others: {} },
    },
  ];
  const figures: TargetFigures[] = [];
  for (const t of targets) {
    const f: TargetFigures = {
      name: t.name,
      autocannon: [],
      ab: [],
      abKeepAlive: 0,
      abComplete: 0,
    };
    const withAutocannon = async () => {
      const m = await measureLoad(
        out,
        tmp,
        'independent',
        {
          url: t.url,
          method: 'POST',
          path: t.path,
          headers: {},
          connections,
          warmupSeconds: WARMUP_SECONDS,
          durationSeconds: seconds,
          expectStatus: 200,
          expectActive: true,
        },
        [body],
        t.watched,
      );
      if (m.errors.total > 0)
        throw new Error(`autocannon against ${t.name}: ${m.errors.total} errors`);
      f.autocannon.push(m.rps);
      progress(`  ${t.name}: autocannon ${Math.round(m.rps)}/s`);
    };
    const withAb = async () => {
      const r = await ab(`${t.url}${t.path}`, bodyFile);
      f.ab.push(r.rps);
      f.abKeepAlive += r.keepAlive;
      f.abComplete += r.complete;
      progress(
        `  ${t.name}: ab ${Math.round(r.rps)}/s (${r.keepAlive} of ${r.complete} kept alive)`,
      );
    };
    await withAutocannon();
    await withAb();
    await withAb();
    await withAutocannon();
    figures.push(f);
  }

  const at = new Date().toISOString();
  const lines: string[] = [];
  lines.push(`Quint auth: independent checks of the bench's ceilings, ${at}`);
  lines.push(
    `machine: ${host.cpuModel}, ${host.cores} logical cores; node ${process.version}; ${connections} keep-alive connections, ${seconds} s per run after ${WARMUP_SECONDS} s of warm-up, one body repeated`,
  );
  lines.push('');
  lines.push(
    table(
      ['crypto, one core', 'node:crypto (bench)', 'openssl speed', 'node ÷ openssl'],
      [
        [
          'ES256 sign /s',
          fmtInt(node.signPerSecond),
          fmtInt(openssl.signPerSecond),
          (node.signPerSecond / openssl.signPerSecond).toFixed(2),
        ],
        [
          'ES256 verify /s',
          fmtInt(node.verifyPerSecond),
          fmtInt(openssl.verifyPerSecond),
          (node.verifyPerSecond / openssl.verifyPerSecond).toFixed(2),
        ],
      ],
    ),
  );
  lines.push('');
  lines.push(
    table(
      ['HTTP (mean of 2 runs each)', 'autocannon /s', 'ab /s', 'ab ÷ autocannon', 'ab kept alive'],
      figures.map((f) => [
        f.name,
        fmtInt(mean(f.autocannon)),
        fmtInt(mean(f.ab)),
        (mean(f.ab) / mean(f.autocannon)).toFixed(2),
        `${((100 * f.abKeepAlive) / f.abComplete).toFixed(0)} %`,
      ]),
    ),
  );
  const [fl, ce, rep] = figures as [TargetFigures, TargetFigures, TargetFigures];
  const ratio = (a: TargetFigures, b: TargetFigures, g: 'autocannon' | 'ab') =>
    (mean(a[g]) / mean(b[g])).toFixed(2);
  lines.push('');
  lines.push('ratios, each from one generator:');
  lines.push(
    `  repeated verify / floor (goal >= 0.5): autocannon ${ratio(rep, fl, 'autocannon')}, ab ${ratio(rep, fl, 'ab')}`,
  );
  lines.push(
    `  HTTP ceiling / floor: autocannon ${ratio(ce, fl, 'autocannon')}, ab ${ratio(ce, fl, 'ab')}`,
  );
  lines.push(
    `  HTTP ceiling / crypto verify ceiling (one core): autocannon ${(mean(ce.autocannon) / node.verifyPerSecond).toFixed(2)}, ab ${(mean(ce.ab) / node.verifyPerSecond).toFixed(2)}`,
  );
  process.stdout.write(`${lines.join('\n')}\n`);

  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const file = join(root, 'bench', 'results', `independent-${at.replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ at, machine: host, node: process.version, connections, seconds, crypto: { node, openssl }, http: figures }, null, 2)}\n`,
  );
  process.stdout.write(`\nJSON: ${file}\n`);
}

main()
  .then(cleanup)
  .catch(async (error: unknown) => {
    process.stderr.write(
      `[independent] failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    await cleanup();
    process.exitCode = 1;
  });
