/**
 * The fast path of revocation checks: a bloom filter in Redis made of plain bit operations
 * (SETBIT, BITFIELD GET), so any managed Redis serves; no modules, no Lua on the read path.
 *
 * There is one filter per expiry day, keyed by the day encoded in each token id, and each day's
 * key expires once every token in it has, so the filter's size stays bounded however long the
 * service runs. A `ready` marker records that the filter holds everything Postgres holds; a flushed,
 * restarted or replaced Redis has no marker, and until the filter is rebuilt from Postgres the
 * answer is "unready" (ask Postgres), never "clear".
 */
import { hash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { expiryDayOfId } from '../tokens/ids.js';
import { TurnBatcher } from '../turn-batcher.js';

export type FilterAnswer = 'clear' | 'maybe' | 'unready';

export interface RevokedEntry {
  jti: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export interface BloomParameters {
  /** Bits per day's filter (a power of two is not required). */
  bits: number;
  /** Hash functions per entry. */
  hashes: number;
}

/** 2^20 bits (128 KiB) per expiry day and 7 hashes: under 1 in 10^8 false "maybe" at 10,000 revocations a day. */
export const DEFAULT_BLOOM: BloomParameters = { bits: 1 << 20, hashes: 7 };

const DAY = 86_400;
/** Bits set by one BITFIELD command. */
const SET_BATCH = 4096;
/** Checks sent in one round trip at most (a BITFIELD of ~7 × 3 arguments per id and day). */
const MAX_CHECKS_PER_TRIP = 256;
/** Keep a day's filter this long after the day ends, beyond any clock skew. */
const GRACE_SECONDS = 3600;

const CAS_READY = `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('SET', KEYS[2], ARGV[1]); redis.call('DEL', KEYS[1]); return 1
else return 0 end`;

interface PendingCheck {
  ids: readonly string[];
  /** The expiry day of each id, read once in `check`. */
  days: number[];
}

/** The bit offsets of one id (double hashing over SHA-256). */
export function bitOffsets(id: string, params: BloomParameters): number[] {
  const digest = hash('sha256', id, 'buffer');
  const h1 = digest.readUInt32BE(0);
  const h2 = digest.readUInt32BE(4) | 1;
  const out: number[] = [];
  for (let i = 0; i < params.hashes; i++) out.push((h1 + Math.imul(i, h2)) >>> 0);
  return out.map((h) => h % params.bits);
}

export class RevocationFilter {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #params: BloomParameters;
  /** Checks go to Redis together, up to MAX_CHECKS_PER_TRIP in a round trip (see `check`). */
  readonly #checks = new TurnBatcher<PendingCheck, FilterAnswer>(
    (checks) => this.#checkTogether(checks),
    MAX_CHECKS_PER_TRIP,
  );

  constructor(redis: Redis, options: { prefix?: string; params?: BloomParameters } = {}) {
    this.#redis = redis;
    this.#prefix = options.prefix ?? 'quint:auth:revoked:v1';
    this.#params = options.params ?? DEFAULT_BLOOM;
  }

  get readyKey(): string {
    return `${this.#prefix}:ready`;
  }

  #dayKey(day: number): string {
    return `${this.#prefix}:day:${day}`;
  }

  /**
   * Is the filter ready, and might any of `ids` be revoked? Checks go to Redis together (a
   * {@link TurnBatcher}): those asked for in one turn of the event loop, and those asked for while
   * a round trip is out, each batch as EXISTS on the ready marker and one BITFIELD GET per day.
   */
  check(ids: readonly string[]): Promise<FilterAnswer> {
    const days: number[] = [];
    for (const id of ids) {
      const day = expiryDayOfId(id);
      // Not one of our ids: let Postgres decide.
      if (day === undefined) return Promise.resolve('maybe');
      days.push(day);
    }
    return this.#checks.add({ ids, days });
  }

  async #checkTogether(checks: readonly PendingCheck[]): Promise<FilterAnswer[]> {
    // One BITFIELD per expiry day over the ids of every check; for each id, where its bits are.
    const days: number[] = [];
    const args: (string | number)[][] = [];
    const bitsOf = checks.map((c) =>
      c.ids.map((id, i) => {
        const day = c.days[i] as number;
        let d = days.indexOf(day);
        if (d === -1) d = days.push(day) - 1;
        const dayArgs = (args[d] ??= []);
        const first = dayArgs.length / 3;
        for (const o of bitOffsets(id, this.#params)) dayArgs.push('GET', 'u1', o);
        return { d, first };
      }),
    );
    const pipeline = this.#redis.pipeline();
    pipeline.exists(this.readyKey);
    days.forEach((day, d) =>
      pipeline.bitfield(this.#dayKey(day), ...(args[d] as ['GET', string, number])),
    );
    const results = await pipeline.exec();
    if (!results) throw new Error('redis pipeline returned nothing');
    for (const [err] of results) if (err) throw err;
    if (results[0]?.[1] !== 1) return checks.map(() => 'unready');
    const k = this.#params.hashes;
    const allSet = ({ d, first }: { d: number; first: number }) => {
      const bits = results[d + 1]?.[1] as number[];
      for (let j = first; j < first + k; j++) if (bits[j] !== 1) return false;
      return true;
    };
    return bitsOf.map((ids) => (ids.some(allSet) ? 'maybe' : 'clear'));
  }

  /** Sets the entries' bits; idempotent. */
  async add(entries: readonly RevokedEntry[]): Promise<void> {
    if (entries.length === 0) return;
    // One BITFIELD SET per day and batch rather than a SETBIT per bit: a resync after an outage
    // may carry thousands of entries, and a pipeline of tens of thousands of commands outlives
    // the command timeout and piles up in memory.
    const byDay = new Map<number, number[]>();
    for (const { jti, exp } of entries) {
      const day = expiryDayOfId(jti) ?? Math.floor(exp / DAY);
      const offsets = byDay.get(day) ?? [];
      offsets.push(...bitOffsets(jti, this.#params));
      byDay.set(day, offsets);
    }
    const pipeline = this.#redis.pipeline();
    for (const [day, offsets] of byDay) {
      const key = this.#dayKey(day);
      for (let i = 0; i < offsets.length; i += SET_BATCH) {
        const args: (string | number)[] = [];
        for (const o of offsets.slice(i, i + SET_BATCH)) args.push('SET', 'u1', o, 1);
        pipeline.bitfield(key, ...(args as ['SET', string, number, number]));
      }
      pipeline.expireat(key, (day + 1) * DAY + GRACE_SECONDS);
    }
    const results = await pipeline.exec();
    for (const [err] of results ?? []) if (err) throw err;
  }

  /** The pub/sub channel on which revocations are announced. */
  get channel(): string {
    return `${this.#prefix}:announce`;
  }

  /** Publishes revoked ids to every worker listening (see `listenForRevocations`). */
  async announce(ids: readonly string[]): Promise<void> {
    if (ids.length > 0) await this.#redis.publish(this.channel, ids.join(' '));
  }

  /** Whether the ready marker is present. */
  async isReady(): Promise<boolean> {
    return (await this.#redis.exists(this.readyKey)) === 1;
  }

  /**
   * Rebuilds the filter from `source` (every revoked entry not yet expired) unless another process
   * is already doing it. The marker is set only if no flush happened while the bits were written.
   * Returns true if this call made the filter ready.
   */
  async rebuild(source: () => AsyncIterable<RevokedEntry[]>): Promise<boolean> {
    const id = randomBytes(12).toString('base64url');
    const lock = `${this.#prefix}:rebuild-lock`;
    const building = `${this.#prefix}:building`;
    const got = await this.#redis.set(lock, id, 'PX', 60_000, 'NX');
    if (got !== 'OK') return false;
    try {
      await this.#redis.set(building, id, 'EX', 600);
      for await (const batch of source()) await this.add(batch);
      const ok = await this.#redis.eval(CAS_READY, 2, building, this.readyKey, id);
      return ok === 1;
    } finally {
      // Release only our own lock.
      await this.#redis
        .eval(
          `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`,
          1,
          lock,
          id,
        )
        .catch(() => {});
    }
  }
}

/**
 * Subscribes `subscriber` (a connection of its own, as pub/sub requires) to revocation
 * announcements. `onListening(false)` is called whenever the subscription may have missed
 * messages (connection lost), `onListening(true)` once it is back.
 */
export function listenForRevocations(
  subscriber: Redis,
  channel: string,
  handlers: { onRevoked: (ids: string[]) => void; onListening: (listening: boolean) => void },
): void {
  subscriber.on('message', (ch: string, message: string) => {
    if (ch === channel) handlers.onRevoked(message.split(' ').filter(Boolean));
  });
  subscriber.on('close', () => handlers.onListening(false));
  const subscribe = () => {
    subscriber.subscribe(channel).then(
      () => handlers.onListening(true),
      () => handlers.onListening(false),
    );
  };
  subscriber.on('ready', subscribe);
  if (subscriber.status === 'ready') subscribe();
}
