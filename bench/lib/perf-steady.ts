/**
 * Where a server's CPU goes per request in its steady state, from `perf script` text (see
 * bench/perf-steady.ts for the recipe). The unit is the ES256 work of one verification (OpenSSL's
 * `nistz256` functions), which cold verify and the HTTP ceiling both do once per request.
 */

/** What `perf script -F pid,tid,time,ip,sym,dso` prints for one sample. */
const SAMPLE = /^\s*(\d+)\/(\d+)\s+([\d.]+):\s+\S+\s+(.*?)\s+\((.*)\)\s*$/;
const ES256 = /nistz256/;
/** A second is steady when it has at least this share of the busiest second's ES256 work. */
const STEADY_SHARE = 0.85;

export interface PartyProfile {
  steadySeconds: number;
  samples: number;
  /** All samples of the steady seconds, in units of ES256 work (so: per request). */
  unitsPerRequest: number;
  /** `<where> <symbol>` (where: kernel, jit, or the library) → units per request. */
  bySymbol: Map<string, number>;
}

/**
 * Profiles of each party (a name → its pids) from perf script text. A party with no ES256 work
 * in the text (wrong pids, or a profile of something else) is an error that says so.
 */
export function steadyProfiles(
  text: string,
  parties: Record<string, readonly string[]>,
): Record<string, PartyProfile> {
  const owner = new Map<string, string>();
  for (const [name, pids] of Object.entries(parties)) for (const pid of pids) owner.set(pid, name);
  const samples = new Map<string, { second: number; symbol: string; es256: boolean }[]>();
  let t0: number | undefined;
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, pid, , time, sym, dso] = m as unknown as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const party = owner.get(pid);
    if (party === undefined) continue;
    t0 ??= Number(time);
    const where = dso.includes('kallsyms')
      ? 'kernel'
      : dso.includes('perf-') || dso.includes('JIT')
        ? 'jit'
        : (dso.split('/').pop() as string);
    let list = samples.get(party);
    if (!list) samples.set(party, (list = []));
    list.push({
      second: Math.floor(Number(time) - t0),
      symbol: `${where} ${sym}`,
      es256: ES256.test(sym),
    });
  }
  const out: Record<string, PartyProfile> = {};
  for (const name of Object.keys(parties)) {
    const list = samples.get(name) ?? [];
    const es256PerSecond = new Map<number, number>();
    for (const s of list) {
      if (s.es256) es256PerSecond.set(s.second, (es256PerSecond.get(s.second) ?? 0) + 1);
    }
    if (es256PerSecond.size === 0) {
      throw new Error(
        `no ES256 work among ${list.length} samples of ${name} (pids ${parties[name]!.join(', ')}): are these its workers' pids, from a cold verify run?`,
      );
    }
    const busiest = Math.max(...es256PerSecond.values());
    const steady = new Set(
      [...es256PerSecond].filter(([, n]) => n >= STEADY_SHARE * busiest).map(([s]) => s),
    );
    const counts = new Map<string, number>();
    let es256 = 0;
    let total = 0;
    for (const s of list) {
      if (!steady.has(s.second)) continue;
      total++;
      if (s.es256) es256++;
      counts.set(s.symbol, (counts.get(s.symbol) ?? 0) + 1);
    }
    out[name] = {
      steadySeconds: steady.size,
      samples: total,
      unitsPerRequest: total / es256,
      bySymbol: new Map([...counts].map(([k, n]) => [k, n / es256])),
    };
  }
  return out;
}
