/**
 * What the benchmark reads from Linux's /proc: a process's children, its resident memory, its CPU
 * time, and which worker holds which loopback connection. Reading only; nothing here signals a
 * process.
 */
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

const TICKS_PER_SECOND = 100;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** Direct children of `pid` (empty if it has gone). */
export function childrenOf(pid: number): number[] {
  const text = read(`/proc/${pid}/task/${pid}/children`) ?? '';
  return text
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number);
}

/** `pid` and all its descendants. */
export function treeOf(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) out.push(...childrenOf(out[i] as number));
  return out;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(read(`/proc/${pid}/status`) ?? '');
  return m?.[1] === undefined ? undefined : Number(m[1]) * 1024;
}

/** Resident set size now, in bytes. */
export function rssBytes(pid: number): number | undefined {
  return statusField(pid, 'VmRSS');
}

/** Peak resident set size since the process started (VmHWM), in bytes. */
export function peakRssBytes(pid: number): number | undefined {
  return statusField(pid, 'VmHWM');
}

/** User + system CPU seconds the process has used so far (0 if it has gone). */
export function cpuSeconds(pid: number): number {
  const stat = read(`/proc/${pid}/stat`);
  if (!stat) return 0;
  // The command name is in parentheses and may contain spaces; fields count from after it.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Whole-machine busy and total CPU seconds (all cores), from /proc/stat. */
export function machineCpu(): { busy: number; total: number } {
  const line = (read('/proc/stat') ?? '').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: (total - idle) / TICKS_PER_SECOND, total: total / TICKS_PER_SECOND };
}

/** Processes whose command line contains `needle`, e.g. a Postgres data folder. */
export function pidsWithCmdline(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmd = read(`/proc/${name}/cmdline`);
    if (cmd?.replace(/\0/g, ' ').includes(needle)) out.push(Number(name));
  }
  return out;
}

/** The machine: CPU model and how many logical cores this process may use. */
export function machine(): { cpuModel: string; cores: number; memTotalBytes: number } {
  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? 'unknown';
  const cores = (cpuinfo.match(/^processor\s*:/gm) ?? []).length;
  const mem = /^MemTotal:\s+(\d+) kB/m.exec(read('/proc/meminfo') ?? '')?.[1];
  return { cpuModel, cores, memTotalBytes: Number(mem ?? 0) * 1024 };
}

/**
 * For connections to `serverPort` on 127.0.0.1: which of `pids` holds the server side of each,
 * keyed by the client's local port. This is how the benchmark knows which worker a socket reached.
 */
export function connectionOwners(serverPort: number, pids: readonly number[]): Map<number, number> {
  const inodeToPid = new Map<string, number>();
  for (const pid of pids) {
    let fds: string[] = [];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m?.[1]) inodeToPid.set(m[1], pid);
      } catch {
        // closed meanwhile
      }
    }
  }
  const owners = new Map<number, number>();
  const lines = (read('/proc/net/tcp') ?? '').split('\n').slice(1);
  for (const line of lines) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    const localPort = parseInt((f[1] ?? '').split(':')[1] ?? '', 16);
    const remotePort = parseInt((f[2] ?? '').split(':')[1] ?? '', 16);
    const pid = inodeToPid.get(f[9] ?? '');
    if (localPort === serverPort && pid !== undefined) owners.set(remotePort, pid);
  }
  return owners;
}
