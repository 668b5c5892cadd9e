/**
 * The paced load generator: requests sent at an even rate (`overallRate` per second) over up to
 * `connections` keep-alive connections, whether or not earlier answers have come back (open
 * loop). autocannon's own rate option is a per-connection budget per second (bursts at each
 * second's start), which measures queueing, not the latency of a service at that load.
 *
 * Each latency is measured from the moment the request was due, not from when a connection was
 * free to send it, so waiting for a connection counts (no coordinated omission).
 *
 * Usage: node paced.js <spec.json> (the LoadSpec of load.ts, with overallRate). Same output.
 */
import http from 'node:http';
import { readFileSync } from 'node:fs';
import type { LoadResult, LoadSpec } from './load.js';
import { judgeAnswer } from './lib/answer.js';
import { Samples } from './lib/stats.js';

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec;
const bodies = JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) as string[];
const rate = spec.overallRate ?? 0;
if (bodies.length === 0 || !(rate > 0)) throw new Error('paced: needs bodies and an overallRate');

const target = new URL(spec.url);
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections });
const counts = { socket: 0, timeouts: 0, wrongStatus: 0, wrongAnswer: 0 };
const statusCodes: Record<string, number> = {};
let next = 0;

function check(i: number, status: number, body: string): void {
  statusCodes[status] = (statusCodes[status] ?? 0) + 1;
  const verdict = judgeAnswer(spec, bodies.length, i, status, body);
  if (verdict !== 'ok') counts[verdict]++;
}

function send(i: number, due: number, done: (ms: number) => void): void {
  const body = bodies[i % bodies.length] as string;
  const req = http.request(
    {
      agent,
      host: target.hostname,
      port: target.port,
      method: spec.method,
      path: spec.path,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        ...spec.headers,
      },
      timeout: 10_000,
    },
    (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        check(i, res.statusCode ?? 0, text);
        done(performance.now() - due);
      });
    },
  );
  req.on('timeout', () => {
    counts.timeouts++;
    req.destroy();
  });
  req.on('error', () => {
    counts.socket++;
    done(performance.now() - due);
  });
  req.end(body);
}

/** Sends at `rate` for `seconds`; resolves once every answer is in. */
function run(seconds: number, latencies?: Samples): Promise<number> {
  return new Promise((resolve) => {
    const start = performance.now();
    const gap = 1000 / rate;
    let sent = 0;
    let outstanding = 0;
    let stopped = false;
    const finish = () => {
      if (stopped && outstanding === 0) resolve(sent);
    };
    const timer = setInterval(() => {
      const now = performance.now();
      const end = start + seconds * 1000;
      for (let due = start + sent * gap; due <= now && due < end; due = start + sent * gap) {
        sent++;
        outstanding++;
        send(next++, due, (ms) => {
          outstanding--;
          latencies?.push(ms);
          finish();
        });
      }
      if (now >= end) {
        stopped = true;
        clearInterval(timer);
        finish();
      }
    }, 1);
  });
}

if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
for (const k of Object.keys(statusCodes)) delete statusCodes[k];
const latencies = new Samples();
process.stdout.write(JSON.stringify({ event: 'measure-start' }) + '\n');
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const sent = await run(spec.durationSeconds, latencies);
const seconds = (performance.now() - t0) / 1000;
const cpu = process.cpuUsage(cpu0);
const out: LoadResult = {
  event: 'result',
  requests: latencies.length,
  seconds,
  rps: sent / spec.durationSeconds,
  latencyMs: latencies.summary(),
  errors: {
    ...counts,
    total: counts.socket + counts.timeouts + counts.wrongStatus + counts.wrongAnswer,
  },
  statusCodes,
  bodiesSent: next,
  distinctBodies: bodies.length,
  generatorCpuSeconds: (cpu.user + cpu.system) / 1e6,
};
process.stdout.write(JSON.stringify(out) + '\n');
agent.destroy();
process.exit(0);
