/**
 * What every scenario works with: the servers, the running service, the ledger, the harness's
 * own database and Redis connections, and the run's profile (how long, how much).
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import type { ManagedServer } from '../../scripts/support/servers.js';
import type { Ledger } from './ledger.js';
import type { ServiceProcess } from './service-process.js';

export interface Profile {
  name: 'full' | 'reduced';
  /** Load loops. */
  concurrency: number;
  /** Pause between one loop's requests (ms). */
  pauseMs: number;
  /** Steady load before and after each fault (ms). */
  steadyMs: number;
  /** How long a dependency stays down (ms). */
  outageMs: number;
  /** Redis flushes in scenario 2. */
  flushes: number;
  /** Generated malformed requests and random token mutations in scenario 8. */
  malformed: number;
  mutations: number;
  /** New customers for the concurrent bootstraps. */
  bootstrapCustomers: number;
  /** Upper bound on load requests per scenario. */
  maxRequestsPerScenario: number;
  /** Customers (each with one app token) the load mints under. */
  customers: number;
  /** Seed of the malformed-request generator. */
  seed: number;
}

export const PROFILES: Record<Profile['name'], Profile> = {
  full: {
    name: 'full',
    concurrency: 16,
    pauseMs: 20,
    steadyMs: 4000,
    outageMs: 8000,
    flushes: 5,
    malformed: 5000,
    mutations: 1500,
    bootstrapCustomers: 60,
    maxRequestsPerScenario: 40_000,
    customers: 6,
    seed: 20261128,
  },
  reduced: {
    name: 'reduced',
    concurrency: 6,
    pauseMs: 20,
    steadyMs: 700,
    outageMs: 2000,
    flushes: 2,
    malformed: 800,
    mutations: 150,
    bootstrapCustomers: 10,
    maxRequestsPerScenario: 8000,
    customers: 3,
    seed: 20261128,
  },
};

export interface Context {
  profile: Profile;
  pg: ManagedServer;
  redis: ManagedServer;
  /** The service's database. */
  databaseUrl: string;
  /** The harness's own connections (not the service's). */
  sql: Sql;
  redisClient: Redis;
  /** The environment every service instance and script gets; scenario 7 changes the master key. */
  env: Record<string, string>;
  adminToken: string;
  /** The instance the load and the audits talk to. */
  service: ServiceProcess;
  /** Every instance started, so that the suite can kill them all at the end. */
  instances: ServiceProcess[];
  ledger: Ledger;
  log: (line: string) => void;
}

export function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}
