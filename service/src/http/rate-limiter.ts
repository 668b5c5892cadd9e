/**
 * Fixed-window rate limits shared by every worker and replica through Redis: one INCR per hit on
 * a key named by the window, which goes out with the other commands of the same turn of the
 * event loop (the client's auto-pipelining), and an EXPIRE when a window's key is new. When
 * Redis is unreachable the limits are not enforced rather than refusing every request:
 * availability of verification matters more than a brief lapse of throttling.
 */
import type { Redis } from 'ioredis';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the window resets. */
  resetSeconds: number;
}

export class RateLimiter {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix = 'quint:auth:rl') {
    this.#redis = redis;
    this.#prefix = prefix;
  }

  #key(bucket: string, id: string, windowSeconds: number, nowMs: number): [string, number] {
    const window = Math.floor(nowMs / 1000 / windowSeconds);
    const reset = (window + 1) * windowSeconds - Math.floor(nowMs / 1000);
    return [`${this.#prefix}:${bucket}:${id}:${window}`, reset];
  }

  /** Counts one hit and says whether it is within `limit` per window. */
  hit(
    bucket: string,
    id: string,
    limit: number,
    windowSeconds = 60,
    nowMs = Date.now(),
  ): Promise<RateLimitResult> {
    return this.#count(bucket, id, limit, windowSeconds, nowMs, async (key) => {
      const count = await this.#redis.incr(key);
      // The window's first hit sets its expiry. Not in a MULTI with the INCR (a transaction is
      // a round trip of its own for every hit): if this EXPIRE were lost, the key would only
      // outstay its window, whose number is in its name, so no later window reads it.
      if (count === 1) void this.#redis.expire(key, windowSeconds + 1).catch(() => {});
      // The hit just counted is allowed while it is within the limit.
      return count - 1;
    });
  }

  /** Whether `id` has already used up `limit` in this window, without counting a hit. */
  exceeded(
    bucket: string,
    id: string,
    limit: number,
    windowSeconds = 60,
    nowMs = Date.now(),
  ): Promise<RateLimitResult> {
    return this.#count(bucket, id, limit, windowSeconds, nowMs, async (key) =>
      Number((await this.#redis.get(key)) ?? 0),
    );
  }

  /** Asks `read` how many hits came before this one; fails open when Redis cannot answer. */
  async #count(
    bucket: string,
    id: string,
    limit: number,
    windowSeconds: number,
    nowMs: number,
    read: (key: string) => Promise<number>,
  ): Promise<RateLimitResult> {
    const [key, reset] = this.#key(bucket, id, windowSeconds, nowMs);
    try {
      const before = await read(key);
      return {
        allowed: before < limit,
        resetSeconds: reset,
      };
    } catch {
      return { allowed: true, resetSeconds: reset };
    }
  }
}
