/**
 * Fixed-window rate limits shared by every worker and replica through Redis (INCR + EXPIRE in
 * one round trip). When Redis is unreachable the limits are not enforced rather than refusing
 * every request: availability of verification matters more than a brief lapse of throttling.
 */
import type { Redis } from 'ioredis';

export interface RateLimitResult {
  allowed: boolean;
  /** Seconds until the window resets. */
  resetSeconds: number;
  remaining: number;
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
  async hit(
    bucket: string,
    id: string,
    limit: number,
    windowSeconds = 60,
    nowMs = Date.now(),
  ): Promise<RateLimitResult> {
    const [key, reset] = this.#key(bucket, id, windowSeconds, nowMs);
    try {
      const res = await this.#redis
        .multi()
        .incr(key)
        .expire(key, windowSeconds + 1)
        .exec();
      const count = Number(res?.[0]?.[1] ?? 0);
      return {
        allowed: count <= limit,
        resetSeconds: reset,
        remaining: Math.max(0, limit - count),
      };
    } catch {
      return { allowed: true, resetSeconds: reset, remaining: limit };
    }
  }

  /** Whether `id` has already used up `limit` in this window, without counting a hit. */
  async exceeded(
    bucket: string,
    id: string,
    limit: number,
    windowSeconds = 60,
    nowMs = Date.now(),
  ): Promise<RateLimitResult> {
    const [key, reset] = this.#key(bucket, id, windowSeconds, nowMs);
    try {
      const count = Number((await this.#redis.get(key)) ?? 0);
      return { allowed: count < limit, resetSeconds: reset, remaining: Math.max(0, limit - count) };
    } catch {
      return { allowed: true, resetSeconds: reset, remaining: limit };
    }
  }
}
