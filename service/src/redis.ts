/**
 * The one ioredis client per process, set to fail fast: no offline queue and a short command
 * timeout, so that an unreachable Redis turns into a Postgres fallback within milliseconds
 * instead of a hung request.
 */
import { Redis } from 'ioredis';

export interface RedisOptions {
  commandTimeoutMs?: number;
}

export function createRedis(url: string, options: RedisOptions = {}): Redis {
  return new Redis(url, {
    lazyConnect: false,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 500,
    connectTimeout: 2000,
    enableAutoPipelining: true,
    retryStrategy: (times) => Math.min(100 * times, 1000),
    reconnectOnError: () => false,
  });
}
