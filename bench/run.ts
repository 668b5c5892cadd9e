/**
 * `npm run bench`: the auth service against this machine's own limits, measured side by side in
 * one run. See bench/README.md for what each line means and how to read it.
 *
 * Environment (all optional): BENCH_DURATION (measured seconds per scenario, default 8),
 * BENCH_WARMUP (seconds, default 2), BENCH_CONNECTIONS (default 64), BENCH_ONLY (comma list of
 * cold,repeated,revoked,mint,propagation), BENCH_CPU_PROF (a folder: profile the service's
 * processes with --cpu-prof into it).
 */
import { createReadStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { freePort, type ManagedServer } from '../scripts/support/servers.js';
import { build } from './lib/build.js';
import { killAllNow, start, stop, stopAll } from './lib/children.js';
import { measureLoad, type Measured, type Watched } from './lib/measure.js';
import { childrenOf, machine, peakRssBytes, pidsWithCmdline, treeOf } from './lib/procfs.js';
import { measurePropagation } from './lib/propagation.js';
import { goals, ratios, render, type CryptoCeiling, type Figures } from './lib/report.js';
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
const duration = Number(process.env.BENCH_DURATION ?? 8);
const warmup = Number(process.env.BENCH_WARMUP ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 64);
const only = new Set(
  (process.env.BENCH_ONLY ?? 'cold,repeated,revoked,mint,propagation').split(','),
);
const profileDir = process.env.BENCH_CPU_PROF;

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

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    progress(`${signal}: stopping everything this run started`);
    void cleanup().finally(() => process.exit(130));
  });
}

async function runNode(out: string, script: string, args: string[]): Promise<string> {
  const child = start(process.execPath, [join(out, 'bench', script), ...args], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  await new Promise((r) => child.once('exit', r));
  if (child.exitCode !== 0) throw new Error(`${script} exited with ${child.exitCode}`);
  return text;
}

/** Starts a bare baseline server, runs `fn` against it, stops it. */
async function withBaseline<T>(
  out: string,
  mode: 'floor' | 'verify',
  extra: string[],
  fn: (url: string, watched: Watched) => Promise<T>,
): Promise<T> {
  const port = await freePort();
  const child = start(
    process.execPath,
    [join(out, 'bench', 'baseline-server.js'), mode, String(port), String(WORKERS), ...extra],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  try {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    for await (const line of lines) if (line === 'ready') break;
    const workers = childrenOf(child.pid ?? 0);
    return await fn(`http://127.0.0.1:${port}`, { workers, others: {} });
  } finally {
    await stop(child);
  }
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
    ...(profileDir ? { nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${resolve(profileDir)}`] } : {}),
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
      await runNode(out, 'crypto-ceiling.js', ['3', sample.slice(0, sample.lastIndexOf('.'))]),
    ) as CryptoCeiling;

    progress('floor: bare Fastify, constant answer');
    const floor = await withBaseline(out, 'floor', [], (url, watched) =>
      measureLoad(
        out,
        tmp,
        'floor',
        { ...verifySpec, url, path: '/floor' },
        repeatedTokens.map(body),
        watched,
      ),
    );
    progress(`  ${Math.round(floor.rps)}/s`);

    progress('HTTP ceiling: bare Fastify, one raw ES256 verify per request');
    const jwk = await factory.publicJwk();
    const ceilingPool = (await factory.agents(10_000)).map(body);
    const httpCeiling = await withBaseline(out, 'verify', [jwk.x, jwk.y], (url, watched) =>
      measureLoad(
        out,
        tmp,
        'http-ceiling',
        { ...verifySpec, url, path: '/verify' },
        ceilingPool,
        watched,
      ),
    );
    progress(`  ${Math.round(httpCeiling.rps)}/s`);

    // Enough distinct tokens that none is sent twice, even if the service matched the ceiling.
    const poolSize = Math.max(20_000, Math.ceil(httpCeiling.rps * 1.3 * (warmup + duration)));
    const figures: Figures = { crypto, floor, httpCeiling, serviceWorkerPeakRssBytes: [] };
    const notes: string[] = [];
    const checkCold = (name: string, m: Measured) => {
      if (m.bodiesSent > m.distinctBodies) {
        notes.push(
          `${name}: the pool of ${m.distinctBodies} tokens wrapped (${m.bodiesSent} sent); some verifies were not cold`,
        );
      }
    };

    if (only.has('cold')) {
      progress(`service 1: verify, ${poolSize} distinct tokens`);
      const pool = (await factory.agents(poolSize)).map(body);
      figures.cold = await measureLoad(out, tmp, 'cold', verifySpec, pool, serviceWatched);
      checkCold('cold', figures.cold);
      progress(`  ${Math.round(figures.cold.rps)}/s`);
    }
    if (only.has('repeated')) {
      progress('service 2: verify, the same 8 tokens repeated');
      figures.repeated = await measureLoad(
        out,
        tmp,
        'repeated',
        verifySpec,
        repeatedTokens.map(body),
        serviceWatched,
      );
      progress(`  ${Math.round(figures.repeated.rps)}/s`);
    }
    if (only.has('revoked')) {
      progress(`service 3: verify, ${poolSize} distinct tokens, every tenth revoked`);
      const tokens = await factory.agents(poolSize);
      await factory.revoke(tokens.filter((_, i) => i % 10 === 0));
      figures.revoked = await measureLoad(
        out,
        tmp,
        'revoked',
        { ...verifySpec, inactiveEvery: 10 },
        tokens.map(body),
        serviceWatched,
      );
      checkCold('revoked', figures.revoked);
      progress(`  ${Math.round(figures.revoked.rps)}/s`);
    }
    if (only.has('mint')) {
      progress('service 4: mint agent tokens from a bearer token');
      figures.mint = await measureLoad(
        out,
        tmp,
        'mint',
        {
          ...verifySpec,
          path: '/v1/tokens',
          headers: { authorization: `Bearer ${creds.bearer}` },
          expectStatus: 201,
          expectActive: undefined,
        },
        [JSON.stringify({ kind: 'agent' })],
        serviceWatched,
      );
      progress(`  ${Math.round(figures.mint.rps)}/s`);
    }
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
    if (serviceLogErrors > 0) notes.push(`the service logged ${serviceLogErrors} error lines`);

    const verdicts = goals(figures);
    const result = {
      at: new Date().toISOString(),
      machine: { ...host, node: process.version, loadAverageAtStart: loadavg() },
      settings: {
        workers: WORKERS,
        connections,
        warmupSeconds: warmup,
        durationSeconds: duration,
        raisedRateLimits: RAISED_RATE_LIMITS,
        generator: 'autocannon (separate process, pipelining 1)',
      },
      figures,
      ratios: ratios(figures),
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
      'ratios:',
      ...Object.entries(result.ratios).map(([k, v]) => `  ${k}: ${v.toFixed(2)}`),
      '',
      'goals:',
      ...verdicts.map((g) => `  [${g.met ? 'met ' : 'MISS'}] ${g.goal}: ${g.measured}`),
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
