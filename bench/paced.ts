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
import { connect, type Socket } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import type { LoadResult, LoadSpec, PacedTrace } from './load.js';
import { judgeAnswer } from './lib/answer.js';
import { Samples } from './lib/stats.js';

const spec = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as LoadSpec;
const bodies = JSON.parse(readFileSync(spec.bodiesFile, 'utf8')) as string[];
const rate = spec.overallRate ?? 0;
if (bodies.length === 0 || !(rate > 0)) throw new Error('paced: needs bodies and an overallRate');

const target = new URL(spec.url);
const counts = { socket: 0, timeouts: 0, wrongStatus: 0, wrongAnswer: 0 };
const statusCodes: Record<string, number> = {};
let next = 0;
const TIMEOUT_MS = 10_000;

function check(i: number, status: number, body: string): void {
  statusCodes[status] = (statusCodes[status] ?? 0) + 1;
  const verdict = judgeAnswer(spec, bodies.length, i, status, body);
  if (verdict !== 'ok') counts[verdict]++;
}

/**
 * HTTP/1.1 by hand on keep-alive sockets, one request at a time on each: node:http's client cost
 * this process about 100 µs a request, which made the generator the limit at the service's
 * rates. The service's answers always carry content-length (Fastify sets it).
 */
const head =
  `${spec.method} ${spec.path} HTTP/1.1\r\nhost: ${target.host}\r\n` +
  Object.entries({ 'content-type': 'application/json', ...spec.headers })
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('');
const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)/i;

interface Pending {
  i: number;
  due: number;
  done: (ms: number) => void;
}

class Connection {
  #socket: Socket;
  #buffer: Buffer = Buffer.alloc(0);
  #current: Pending | undefined;

  constructor(private readonly onFree: (c: Connection) => void) {
    this.#socket = this.#open();
  }

  #open(): Socket {
    const socket = connect({ host: target.hostname, port: Number(target.port), noDelay: true });
    socket.setTimeout(TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => this.#read(chunk));
    socket.on('timeout', () => this.#fail('timeouts'));
    socket.on('error', () => this.#fail('socket'));
    socket.on('close', () => this.#fail('socket'));
    return socket;
  }

  send(p: Pending): void {
    this.#current = p;
    const body = bodies[p.i % bodies.length] as string;
    this.#socket.write(`${head}content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  }

  #read(chunk: Buffer): void {
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const end = this.#buffer.indexOf('\r\n\r\n');
    if (end === -1) return;
    const headers = this.#buffer.toString('latin1', 0, end);
    const length = Number(CONTENT_LENGTH.exec(headers)?.[1] ?? 0);
    if (this.#buffer.length < end + 4 + length) return;
    const body = this.#buffer.toString('utf8', end + 4, end + 4 + length);
    this.#buffer = this.#buffer.subarray(end + 4 + length);
    this.#complete(Number(headers.slice(9, 12)), body);
  }

  #complete(status: number, body: string): void {
    const p = this.#current;
    this.#current = undefined;
    if (p === undefined) return;
    check(p.i, status, body);
    p.done(performance.now() - p.due);
    this.onFree(this);
  }

  /** The request out on this connection fails; the connection is replaced. */
  #fail(kind: 'socket' | 'timeouts'): void {
    const p = this.#current;
    this.#current = undefined;
    this.#socket.removeAllListeners();
    this.#socket.on('error', () => {});
    this.#socket.destroy();
    this.#buffer = Buffer.alloc(0);
    if (closing) return;
    this.#socket = this.#open();
    if (p !== undefined) {
      counts[kind]++;
      p.done(performance.now() - p.due);
      this.onFree(this);
    }
  }

  close(): void {
    this.#socket.destroy();
  }
}

let closing = false;
const waiting: Pending[] = [];
const free: Connection[] = [];
const onFree = (c: Connection) => {
  const p = waiting.shift();
  if (p) c.send(p);
  else free.push(c);
};
const connections = Array.from({ length: spec.connections }, () => new Connection(onFree));
free.push(...connections);

/** Sends the `i`-th body now if a connection is free, else as soon as one is. */
function send(i: number, due: number, done: (ms: number) => void): void {
  const c = free.pop();
  if (c) c.send({ i, due, done });
  else waiting.push({ i, due, done });
}

/**
 * Sends at `rate` for `seconds`; resolves once every answer is in. With `latencies`, records
 * each answer's latency there, and into `trace` as well if given.
 */
function run(seconds: number, latencies?: Samples, trace?: PacedTrace): Promise<number> {
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
          trace?.dueMs.push(Math.round((due - start) * 100) / 100);
          trace?.latencyMs.push(Math.round(ms * 1000) / 1000);
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
const trace: PacedTrace | undefined = spec.traceFile ? { dueMs: [], latencyMs: [] } : undefined;
const sent = await run(spec.durationSeconds, latencies, trace);
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
if (spec.traceFile && trace) writeFileSync(spec.traceFile, JSON.stringify(trace));
process.stdout.write(JSON.stringify(out) + '\n');
closing = true;
for (const c of connections) c.close();
process.exit(0);
