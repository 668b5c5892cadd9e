/**
 * The load generator, in a process of its own so that its CPU is counted apart from the servers':
 * autocannon over loopback, a warm-up then the measured run, every response checked.
 *
 * Usage: node load.js <spec.json>. Prints `{"event":"measure-start"}` when the measured run
 * begins and `{"event":"result",…}` at the end, one JSON object per line on stdout.
 */
import { readFileSync } from 'node:fs';
import autocannon, { type Request, type Result } from 'autocannon';
import { judgeAnswer } from './lib/answer.js';
import { Samples, type LatencySummary } from './lib/stats.js';

export interface LoadSpec {
  url: string;
  method: 'GET' | 'POST';
  path: string;
  headers: Record<string, string>;
  /** JSON file holding a string[] of request bodies, sent in turn across all connections. */
  bodiesFile: string;
  connections: number;
  /** Requests per second, evenly paced, over up to `connections` (paced.ts); unset: closed loop. */
  overallRate?: number;
  warmupSeconds: number;
  durationSeconds: number;
  expectStatus: number;
  /** For verify: whether the answer must be `active: true` (or false for every `inactiveEvery`-th body). */
  expectActive?: boolean;
  inactiveEvery?: number;
  /**
   * Paced runs only: where to write each measured request's due time and latency (a
   * {@link PacedTrace} as JSON), to tell a machine's stalls from steady queueing.
   */
  traceFile?: string;
}

/** What a paced run writes to `traceFile`: ms from the start of measuring, and ms of latency. */
export interface PacedTrace {
  dueMs: number[];
  latencyMs: number[];
}

export interface LoadResult {
  event: 'result';
  requests: number;
  seconds: number;
  rps: number;
  latencyMs: LatencySummary;
  errors: {
    socket: number;
    timeouts: number;
    wrongStatus: number;
    wrongAnswer: number;
    total: number;
  };
  statusCodes: Record<string, number>;
  /** Bodies sent in warm-up plus measured run, and how many distinct bodies there were. */
  bodiesSent: number;
  distinctBodies: number;
  generatorCpuSeconds: number;
}

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec;
const bodies = JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) as string[];
if (bodies.length === 0) throw new Error('no request bodies');

let next = 0;
let wrongStatus = 0;
let wrongAnswer = 0;
let measuring = false;

const request: Request = {
  method: spec.method,
  path: spec.path,
  headers: { 'content-type': 'application/json', ...spec.headers },
  body: bodies[0],
  setupRequest(req, context) {
    const i = next++;
    context.i = i;
    return { ...req, body: bodies[i % bodies.length] };
  },
  onResponse(status, body, context) {
    if (!measuring) return;
    const verdict = judgeAnswer(spec, bodies.length, Number(context.i), status, body);
    if (verdict === 'wrongStatus') wrongStatus++;
    else if (verdict === 'wrongAnswer') wrongAnswer++;
  },
};

function run(seconds: number, latencies?: Samples): Promise<Result> {
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: spec.url,
        connections: spec.connections,
        pipelining: 1,
        duration: seconds,
        timeout: 10,
        requests: [request],
      },
      (err, result) => (err ? reject(err) : resolve(result)),
    );
    if (latencies) {
      instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
        latencies.push(ms),
      );
    }
    process.once('SIGTERM', () => instance.stop());
  });
}

if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
const latencies = new Samples();
measuring = true;
process.stdout.write(JSON.stringify({ event: 'measure-start' }) + '\n');
const cpu0 = process.cpuUsage();
const result = await run(spec.durationSeconds, latencies);
const cpu = process.cpuUsage(cpu0);
const statusCodes: Record<string, number> = {};
for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
const requests = latencies.length;
const out: LoadResult = {
  event: 'result',
  requests,
  seconds: result.duration,
  rps: requests / result.duration,
  latencyMs: latencies.summary(),
  errors: {
    socket: result.errors - result.timeouts,
    timeouts: result.timeouts,
    wrongStatus,
    wrongAnswer,
    total: result.errors + wrongStatus + wrongAnswer,
  },
  statusCodes,
  bodiesSent: next,
  distinctBodies: bodies.length,
  generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
};
process.stdout.write(JSON.stringify(out) + '\n');
process.exit(0);
