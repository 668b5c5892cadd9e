/**
 * Vitest global setup: one real Postgres cluster and one real Redis for the whole run, on free
 * loopback ports in temp folders, removed afterwards. Test files get their own database and their
 * own Redis key space (see `test/support/fixtures.ts`); tests that break a server start their own.
 */
import type { TestProject } from 'vitest/node';
import { startPostgres, startRedis, type ManagedServer } from '../../scripts/support/servers.js';

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
    redisUrl: string;
  }
}

let pg: ManagedServer | undefined;
let redis: ManagedServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  [pg, redis] = await Promise.all([startPostgres(), startRedis()]);
  project.provide('postgresUrl', pg.url);
  project.provide('redisUrl', redis.url);
}

export async function teardown(): Promise<void> {
  await Promise.all([pg?.destroy(), redis?.destroy()]);
}
