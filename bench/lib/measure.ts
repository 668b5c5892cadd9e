/**
 * Runs the load generator against a server and watches the machine meanwhile: peak resident memory
 * of each server worker (VmRSS sampled every 100 ms) and the CPU time each party used during the
 * measured run (server workers, generator, Postgres, Redis, the whole machine).
 */
import { createInterface } from 'node:readline';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { LoadResult, LoadSpec } from '../load.js';
import { start, stop } from './children.js';
import { cpuSeconds, machineCpu, rssBytes, treeOf } from './procfs.js';

export interface Watched {
  /** Server worker pids, reported one by one. */
  workers: number[];
  /** Other parties whose CPU is reported, each a function returning its current pids. */
  others: Record<string, () => number[]>;
}

export interface CpuShare {
  /** Percent of one core over the measured run (200 % = both cores of this machine). */
  [party: string]: number;
}

export interface Measured extends Omit<LoadResult, 'event'> {
  peakRssPerWorkerBytes: number[];
  cpuPercent: CpuShare;
}

/** Peak VmRSS of each pid while `sampling` is on. */
export class RssSampler {
  readonly #pids: number[];
  readonly peaks: number[];
  #timer: NodeJS.Timeout | undefined;

  constructor(pids: number[]) {
    this.#pids = pids;
    this.peaks = pids.map(() => 0);
  }

  start(): void {
    const sample = () =>
      this.#pids.forEach((pid, i) => {
        this.peaks[i] = Math.max(this.peaks[i] ?? 0, rssBytes(pid) ?? 0);
      });
    sample();
    this.#timer = setInterval(sample, 100);
  }

  stop(): number[] {
    clearInterval(this.#timer);
    return this.peaks;
  }
}

/**
 * CPU seconds of several parties between two instants, process by process: a process that
 * started meanwhile counts from zero, and one that ended meanwhile (a Postgres backend closed by
 * the pool) drops out, so a share can be low by that process's time but never negative.
 */
export class CpuMeter {
  readonly #parties: Record<string, () => number[]>;
  #start = new Map<string, Map<number, number>>();
  #machine0 = 0;
  #t0 = 0;

  constructor(parties: Record<string, () => number[]>) {
    this.#parties = parties;
  }

  #read(): Map<string, Map<number, number>> {
    const m = new Map<string, Map<number, number>>();
    for (const [name, pids] of Object.entries(this.#parties)) {
      m.set(name, new Map(pids().map((pid) => [pid, cpuSeconds(pid)])));
    }
    return m;
  }

  start(): void {
    this.#start = this.#read();
    this.#machine0 = machineCpu().busy;
    this.#t0 = performance.now();
  }

  stop(): CpuShare {
    const end = this.#read();
    const machineSeconds = machineCpu().busy - this.#machine0;
    const wall = (performance.now() - this.#t0) / 1000;
    const out: CpuShare = {};
    for (const [name, pids] of end) {
      const before = this.#start.get(name);
      let seconds = 0;
      for (const [pid, v] of pids) seconds += Math.max(0, v - (before?.get(pid) ?? 0));
      out[name] = Math.round((100 * seconds) / wall);
    }
    out.machine = Math.round((100 * machineSeconds) / wall);
    return out;
  }
}

export async function measureLoad(
  out: string,
  tmp: string,
  name: string,
  spec: Omit<LoadSpec, 'bodiesFile'>,
  bodies: string[],
  watched: Watched,
): Promise<Measured> {
  const bodiesFile = join(tmp, `${name}.bodies.json`);
  const specFile = join(tmp, `${name}.spec.json`);
  writeFileSync(bodiesFile, JSON.stringify(bodies));
  // BENCH_PACED_TRACE=<dir>: every paced run leaves its trace there as <name>.json (paced.ts).
  const traceDir = spec.overallRate ? process.env.BENCH_PACED_TRACE : undefined;
  const traceFile = traceDir ? join(resolve(traceDir), `${name}.json`) : undefined;
  if (traceDir) mkdirSync(resolve(traceDir), { recursive: true });
  writeFileSync(specFile, JSON.stringify({ ...spec, bodiesFile, traceFile }));
  // Paced (open-loop) runs have a generator of their own: see paced.ts.
  const script = spec.overallRate ? 'paced.js' : 'load.js';
  const generator = start(process.execPath, [join(out, 'bench', script), specFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const generatorPid = generator.pid ?? 0;
  const rss = new RssSampler(watched.workers);
  const workerParties = Object.fromEntries(
    watched.workers.map((pid, i) => [`worker${i + 1}`, () => [pid]]),
  );
  const cpu = new CpuMeter({
    ...workerParties,
    generator: () => treeOf(generatorPid),
    ...watched.others,
  });
  let result: LoadResult | undefined;
  let share: CpuShare = {};
  try {
    const lines = createInterface({ input: generator.stdout as NodeJS.ReadableStream });
    for await (const line of lines) {
      const event = JSON.parse(line) as { event: string };
      if (event.event === 'measure-start') {
        rss.start();
        cpu.start();
      } else if (event.event === 'result') {
        share = cpu.stop();
        rss.stop();
        result = event as LoadResult;
      }
    }
  } finally {
    rss.stop();
    await stop(generator, 5000);
  }
  if (!result) throw new Error(`${name}: the load generator ended without a result`);
  const { event: _event, ...rest } = result;
  return { ...rest, peakRssPerWorkerBytes: rss.peaks, cpuPercent: share };
}
