/**
 * `npm run bench`: the auth service against this machine's own limits, measured side by side in
 * one run. See bench/README.md for what each line means and how to read it.
 *
 * Environment (all optional): BENCH_DURATION (measured seconds per scenario and round, default
 * 5), BENCH_WARMUP (seconds, default 1), BENCH_ROUNDS (default 3), BENCH_JIT_WARMUP (seconds of
 * each scenario in an uncounted round 0, default 3; 0 skips it), BENCH_CONNECTIONS (default 64),
 * BENCH_ONLY (comma list of cold,repeated,revoked,mint,propagation), BENCH_CPU_PROF (a folder:
 * profile the service's processes with --cpu-prof into it, and the baseline servers' into
 * baseline-<mode>/ in it), BENCH_SERVICE_LOG_LEVEL (diagnostic: the service's AUTH_LOG_LEVEL, to
 * measure what request logging costs), BENCH_NODE_FLAGS (diagnostic: extra node flags for the
 * service's processes, space-separated, e.g. `--trace-gc`), BENCH_SERVICE_LOG (a file: keep a copy
 * of the service's output there), BENCH_PACED_TRACE (a folder: each paced row leaves every
 * answer's due time and latency there, `<row>.json`; summarise with `bench/paced-trace.ts`).
 */
import {
  copyFileSync,
  createReadStream,
  mkdirSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type ManagedServer } from '../scripts/support/servers.js';
import { startBaselineServer, type Baseline } from './lib/baseline.js';
import { build } from './lib/build.js';
import { runBenchScript, stop, stopAll, stopEverythingOnExit } from './lib/children.js';
import { measureLoad, type Measured, type Watched } from './lib/measure.js';
import { median } from './lib/stats.js';
import { machine, peakRssBytes, pidsWithCmdline, treeOf } from './lib/procfs.js';
import { measurePropagation } from './lib/propagation.js';
import {
  cpuPerAnswerLines,
  goals,
  latencyFloorLines,
  ratios,
  render,
  type CryptoCeiling,
  type Figures,
  type PacedName,
} from './lib/report.js';
import {
  createCredentials,
  mintAgents,
  RAISED_RATE_LIMITS,
  startBackends,
  startService,
} from './lib/service-stack.js';
import { tokenFactory } from './lib/token-pool.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const WORKERS = 2;
const duration = Number(process.env.BENCH_DURATION ?? 5);
const warmup = Number(process.env.BENCH_WARMUP ?? 1);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const jitWarmup = Number(process.env.BENCH_JIT_WARMUP ?? 3);
const only = new Set(
  (process.env.BENCH_ONLY ?? 'cold,repeated,revoked,mint,propagation').split(','),
);
const profileDir = process.env.BENCH_CPU_PROF;
/** Diagnostic only: the service's AUTH_LOG_LEVEL (default: the service's own default, info). */
const serviceLogLevel = process.env.BENCH_SERVICE_LOG_LEVEL;
/** Diagnostic only: extra node flags for the service (e.g. --trace-gc), and where to keep its log. */
const extraNodeFlags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const keepServiceLog = process.env.BENCH_SERVICE_LOG;

const servers: ManagedServer[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'quint-bench-'));

function progress(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

/**
 * Postgres runs under runuser when we are root, and runuser blocks the SIGINT that
 * ManagedServer.stop() sends it, so the postmaster (found by its own data folder, which only
 * this run uses) is asked for a fast shutdown directly before destroy() waits for it.
 */
function fastShutdownPostgres(server: ManagedServer): void {
  for (const pid of pidsWithCmdline(join(server.dir, 'data'))) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      // gone already
    }
  }
}

async function cleanup(): Promise<void> {
  await stopAll();
  const postgres = servers[0];
  if (postgres) fastShutdownPostgres(postgres);
  await Promise.allSettled(servers.map((s) => s.destroy()));
  rmSync(tmp, { recursive: true, force: true });
}

stopEverythingOnExit(progress, cleanup);

/** Starts a bare baseline server (profiled like the service when asked) with the service's worker count. */
function startBaseline(out: string, mode: 'floor' | 'verify', extra: string[]): Promise<Baseline> {
  // Profiled like the service when asked, into a folder of their own, so that the parts they
  // share (HTTP, Fastify, the signature) can be compared with the service's.
  const prof = profileDir
    ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir, `baseline-${mode}`)}`]
    : [];
  return startBaselineServer(out, mode, WORKERS, extra, prof);
}

/** The round whose requests per second is the median of all rounds. */
function medianRound(rounds: Measured[]): Measured {
  const sorted = [...rounds].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)] as Measured;
}

async function countLogErrors(file: string): Promise<number> {
  let n = 0;
  const lines = createInterface({ input: createReadStream(file) });
  for await (const line of lines) if (/"level":(50|60)/.test(line)) n++;
  return n;
}

async function main(): Promise<void> {
  const host = machine();
  progress(
    `machine: ${host.cpuModel}, ${host.cores} logical cores; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  progress('compiling the service and the benchmark (tsc)');
  const { out } = build(root);
  progress('starting Postgres and Redis');
  const backends = await startBackends();
  servers.push(backends.postgres, backends.redis);
  progress(
    `starting the service: AUTH_WORKERS=${WORKERS}; rate limits raised for the run: ${Object.entries(
      RAISED_RATE_LIMITS,
    )
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}`,
  );
  const service = await startService(backends, {
    out,
    workers: WORKERS,
    logDir: tmp,
    ...(serviceLogLevel ? { env: { AUTH_LOG_LEVEL: serviceLogLevel } } : {}),
    nodeFlags: [
      ...extraNodeFlags,
      ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`] : []),
    ],
  });
  const creds = await createCredentials(service, backends.databaseUrl);
  const factory = await tokenFactory(service.env, creds.appToken, creds.bearer);
  const pg = backends.postgres;
  const redisPort = backends.redis.port;
  const serviceWatched: Watched = {
    workers: service.workerPids,
    others: {
      postgres: () => [...new Set(pidsWithCmdline(join(pg.dir, 'data')).flatMap(treeOf))],
      redis: () => pidsWithCmdline(`127.0.0.1:${redisPort}`),
    },
  };
  const verifySpec = {
    url: service.url,
    method: 'POST' as const,
    path: '/v1/tokens/verify',
    headers: {},
    connections,
    warmupSeconds: warmup,
    durationSeconds: duration,
    expectStatus: 200,
    expectActive: true,
  };
  const body = (token: string) => JSON.stringify({ token });

  try {
    const repeatedTokens = await mintAgents(service, creds.bearer, 8);
    const sample = repeatedTokens[0] as string;

    progress('crypto ceiling: raw node:crypto ES256 on one core');
    const crypto = JSON.parse(
      await runBenchScript(out, 'crypto-ceiling.js', [
        '3',
        sample.slice(0, sample.lastIndexOf('.')),
      ]),
    ) as CryptoCeiling;

    const jwk = await factory.publicJwk();
    const floorServer = await startBaseline(out, 'floor', []);
    const ceilingServer = await startBaseline(out, 'verify', [jwk.x, jwk.y]);
    const notes: string[] = [];
    const perRound: Record<string, Measured[]> = {};
    const keep = (name: string, m: Measured) => {
      (perRound[name] ??= []).push(m);
      progress(
        `  ${name}: ${Math.round(m.rps)}/s, p99 ${m.latencyMs.p99.toFixed(1)} ms, errors ${m.errors.total}`,
      );
      if (m.bodiesSent > m.distinctBodies && (name === 'cold' || name === 'revoked')) {
        notes.push(
          `${name}: the pool of ${m.distinctBodies} tokens wrapped (${m.bodiesSent} sent); some verifies were not cold`,
        );
      }
    };
    // Every scenario once per round, the rounds one after the other, so that each comparison is
    // between figures taken minutes apart at most and a burst of other work on the machine
    // shows up as one odd round rather than as a wrong ratio.
    // The HTTP ceiling's rate in the round before; before any, more than this machine's has been
    // (5,000-10,000/s).
    let ceilingRate = 12_000;
    // Round 0, not counted, drives every party for BENCH_JIT_WARMUP seconds first: a profile
    // (perf, bench/README.md) showed the service's workers compiling for their first ~3 s of load
    // and the baseline servers for ~2 s, which the 1 s warm-up of round 1 did not cover.
    for (let round = jitWarmup > 0 ? 0 : 1; round <= rounds; round++) {
      const counted = round > 0;
      const spec = counted ? verifySpec : { ...verifySpec, durationSeconds: jitWarmup };
      const record = counted ? keep : () => {};
      progress(
        counted
          ? `round ${round} of ${rounds}`
          : `round 0 (not counted): ${jitWarmup} s of each scenario, for the JIT`,
      );
      record(
        'floor',
        await measureLoad(
          out,
          tmp,
          'floor',
          { ...spec, url: floorServer.url, path: '/floor' },
          repeatedTokens.map(body),
          floorServer.watched,
        ),
      );
      // The HTTP ceiling and cold verify are sent the same distinct tokens, so that the generator
      // is given the same work for both (the same bodies, as many). Enough that none is sent
      // twice, even to a service as fast as the ceiling was in the round before.
      const enoughFor = (rate: number) =>
        Math.ceil(Math.max(rate, 4000) * 1.5 * (warmup + spec.durationSeconds));
      const pool = (await factory.agents(enoughFor(ceilingRate))).map(body);
      const ceiling = await measureLoad(
        out,
        tmp,
        'httpCeiling',
        { ...spec, url: ceilingServer.url, path: '/verify' },
        pool,
        ceilingServer.watched,
      );
      record('httpCeiling', ceiling);
      ceilingRate = ceiling.rps;
      if (only.has('cold')) {
        record('cold', await measureLoad(out, tmp, 'cold', spec, pool, serviceWatched));
      }
      if (only.has('repeated')) {
        record(
          'repeated',
          await measureLoad(out, tmp, 'repeated', spec, repeatedTokens.map(body), serviceWatched),
        );
      }
      if (only.has('revoked')) {
        const tokens = await factory.agents(enoughFor(ceiling.rps));
        await factory.revoke(tokens.filter((_, i) => i % 10 === 0));
        record(
          'revoked',
          await measureLoad(
            out,
            tmp,
            'revoked',
            { ...spec, inactiveEvery: 10 },
            tokens.map(body),
            serviceWatched,
          ),
        );
      }
      if (only.has('mint')) {
        record(
          'mint',
          await measureLoad(
            out,
            tmp,
            'mint',
            {
              ...spec,
              path: '/v1/tokens',
              headers: { authorization: `Bearer ${creds.bearer}` },
              expectStatus: 201,
              expectActive: undefined,
            },
            [JSON.stringify({ kind: 'agent' })],
            serviceWatched,
          ),
        );
      }
    }
    const pick = (name: string) => (perRound[name] ? medianRound(perRound[name]) : undefined);
    // At saturation every connection queues behind the others (see latencyFloorLines); what a
    // caller sees at ordinary load is measured by pacing the same connections at half the rate
    // each party reached (paced.ts, open loop), the HTTP ceiling included. Not the floor: at half
    // its rate the paced generator (node:http) would be the bottleneck, not the server.
    const paced: Partial<Record<PacedName, Measured>> = {};
    const pace = async (
      name: 'httpCeiling' | 'cold' | 'repeated',
      spec: typeof verifySpec,
      bodies: (rate: number) => Promise<string[]>,
      watched: Watched,
    ) => {
      const m = pick(name);
      if (!m) return;
      const rate = Math.max(100, Math.round(m.rps / 2));
      progress(`${name}, paced at ${rate}/s`);
      const measured = await measureLoad(
        out,
        tmp,
        `${name}Paced`,
        { ...spec, overallRate: rate },
        await bodies(rate),
        watched,
      );
      keep(`${name}Paced`, measured);
      paced[`${name}Paced`] = measured;
      const generatorShare = measured.cpuPercent.generator ?? 0;
      if (generatorShare >= 90) {
        notes.push(
          `${name} paced: the generator took ${generatorShare} % of a core; its latencies include the generator's own queueing`,
        );
      }
    };
    // Distinct tokens for the paced ceiling as for paced cold verify (see the rounds above).
    const distinct = async (rate: number) =>
      (await factory.agents(Math.ceil(rate * 1.2 * (warmup + duration)))).map(body);
    await pace(
      'httpCeiling',
      { ...verifySpec, url: ceilingServer.url, path: '/verify' },
      distinct,
      ceilingServer.watched,
    );
    await stop(floorServer.child);
    await stop(ceilingServer.child);
    await pace('cold', verifySpec, distinct, serviceWatched);
    await pace('repeated', verifySpec, async () => repeatedTokens.map(body), serviceWatched);
    // The figures of one round, or of each scenario's median round.
    const figuresOf = (at: (name: string) => Measured | undefined): Figures => {
      const f: Figures = {
        crypto,
        floor: at('floor') as Measured,
        httpCeiling: at('httpCeiling') as Measured,
        serviceWorkerPeakRssBytes: [],
      };
      for (const name of ['cold', 'repeated', 'revoked', 'mint'] as const) {
        const m = at(name);
        if (m) f[name] = m;
      }
      return f;
    };
    const figures = { ...figuresOf(pick), ...paced };
    // Ratios of figures measured in the same round, then the median over rounds.
    const roundRatios: Record<string, number[]> = {};
    for (let i = 0; i < rounds; i++) {
      const one = figuresOf((name) => perRound[name]?.[i]);
      for (const [k, v] of Object.entries(ratios(one))) (roundRatios[k] ??= []).push(v);
    }
    const medianRatios = Object.fromEntries(
      Object.entries(roundRatios).map(([k, v]) => [k, median(v)]),
    );
    if (only.has('propagation')) {
      progress('service 5: revoke, then verify on the other worker');
      figures.propagation = await measurePropagation({
        port: service.port,
        workerPids: service.workerPids,
        bearer: creds.bearer,
        trials: 20,
        pollers: 8,
      });
      progress(`  max ${figures.propagation.otherWorkerMs.max.toFixed(1)} ms`);
    }
    figures.serviceWorkerPeakRssBytes = service.workerPids.map((pid) => peakRssBytes(pid) ?? 0);
    await factory.close();
    await stop(service.primary, 15_000);
    const serviceLogErrors = await countLogErrors(service.logFile);
    if (keepServiceLog) copyFileSync(service.logFile, resolve(keepServiceLog));
    if (serviceLogErrors > 0) notes.push(`the service logged ${serviceLogErrors} error lines`);

    const verdicts = goals(figures, medianRatios);
    const result = {
      at: new Date().toISOString(),
      machine: { ...host, node: process.version, loadAverageAtStart: loadavg() },
      settings: {
        workers: WORKERS,
        connections,
        warmupSeconds: warmup,
        durationSeconds: duration,
        rounds,
        jitWarmupSeconds: jitWarmup,
        raisedRateLimits: RAISED_RATE_LIMITS,
        generator: 'autocannon (separate process, pipelining 1)',
        serviceLogLevel: serviceLogLevel ?? 'default (info)',
        serviceNodeFlags: extraNodeFlags,
      },
      figures,
      ratios: medianRatios,
      ratiosPerRound: roundRatios,
      rounds: perRound,
      goals: verdicts,
      notes,
    };
    mkdirSync(join(root, 'bench', 'results'), { recursive: true });
    const file = join(root, 'bench', 'results', `bench-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify(result, null, 2) + '\n');

    const lines = [
      `Quint auth benchmark, ${result.at}`,
      `machine: ${host.cpuModel}, ${host.cores} logical cores shared by the load generator, the ${WORKERS} workers, Postgres and Redis; node ${process.version}`,
      `rate limits raised for the run: ${Object.entries(RAISED_RATE_LIMITS)
        .map(([k, v]) => `${k}=${v}`)
        .join(', ')}`,
      '',
      render(figures, connections),
      '',
      `ratios (median over ${rounds} rounds of the ratio within each round; table rows are each scenario's median round):`,
      ...Object.entries(result.ratios).map(([k, v]) => `  ${k}: ${v.toFixed(2)}`),
      '',
      'goals:',
      ...verdicts.map((g) => `  [${g.met ? 'met ' : 'MISS'}] ${g.goal}: ${g.measured}`),
      '',
      "latency at saturation is queueing (Little's law, closed-loop load):",
      ...latencyFloorLines(figures, connections),
      '',
      'CPU per answer, µs, server workers / generator (the CPU shares above ÷ the rate):',
      ...cpuPerAnswerLines(figures),
      ...(notes.length > 0 ? ['', 'notes:', ...notes.map((n) => `  ${n}`)] : []),
      '',
      `JSON: ${file}`,
    ];
    process.stdout.write(lines.join('\n') + '\n');
  } finally {
    await factory.close().catch(() => {});
  }
}

try {
  await main();
} catch (error) {
  progress(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
} finally {
  await cleanup();
}
