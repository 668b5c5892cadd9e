/**
 * Builds the service's core (stores, verifier, revocation, use cases) from its configuration and
 * its two connections. Everything a worker, a script or a test needs comes from here.
 */
import type { Redis } from 'ioredis';
import type { Sql } from 'postgres';
import type { Config } from './config.js';
import { AuditBatcher } from './audit/audit-log.js';
import { MasterKeyring } from './crypto/master-keys.js';
import { SigningKeyStore } from './keys/signing-keys.js';
import { RevocationChecker, type RevocationEvent } from './revocation/revocation-checker.js';
import {
  listenForRevocations,
  RevocationFilter,
  type BloomParameters,
} from './revocation/revocation-filter.js';
import { RevocationStore } from './revocation/revocation-store.js';
import { AppTokenStore } from './tokens/app-token-store.js';
import { TokenService } from './tokens/token-service.js';
import { TokenVerifier } from './tokens/verifier.js';

export interface AuthCore {
  config: Config;
  sql: Sql;
  redis: Redis;
  keyring: MasterKeyring;
  keys: SigningKeyStore;
  appTokens: AppTokenStore;
  revocations: RevocationStore;
  filter: RevocationFilter;
  checker: RevocationChecker;
  verifier: TokenVerifier;
  tokens: TokenService;
  /** Seconds since the epoch. */
  now: () => number;
}

export interface AuthCoreOptions {
  /** Milliseconds since the epoch; tests pass a fake clock. */
  nowMs?: () => number;
  /** Redis key prefix for the revocation filter (tests give each file its own). */
  redisPrefix?: string;
  bloom?: BloomParameters;
  /**
   * The worker's copy of the revoked ids (see RevocationChecker): `trustMs` 0 turns it off;
   * `bloom` sizes it (tests).
   */
  revocationCopy?: { trustMs?: number; bloom?: BloomParameters };
  onRevocationEvent?: (event: RevocationEvent) => void;
}

export function createAuthCore(
  config: Config,
  sql: Sql,
  redis: Redis,
  options: AuthCoreOptions = {},
): AuthCore {
  const nowMs = options.nowMs ?? Date.now;
  const now = () => Math.floor(nowMs() / 1000);
  const keyring = new MasterKeyring(config.masterKey.key, config.previousMasterKey?.key);
  const keys = new SigningKeyStore(sql, keyring, {
    activationDelaySeconds: config.keyActivationDelaySeconds,
    maxSignedTokenTtlSeconds: Math.max(
      config.ttl.bearer,
      config.ttl.agent,
      config.ttl.subagent,
      config.ttl.session,
      config.ttl.override,
    ),
    clockSkewSeconds: config.clockSkewSeconds,
  });
  const appTokens = new AppTokenStore(sql);
  const revocations = new RevocationStore(sql);
  const filter = new RevocationFilter(redis, {
    ...(options.redisPrefix === undefined ? {} : { prefix: options.redisPrefix }),
    ...(options.bloom === undefined ? {} : { params: options.bloom }),
  });
  const checker = new RevocationChecker(filter, revocations, {
    recheckMs: config.revocationRecheckMs,
    nowMs,
    ...(options.revocationCopy?.trustMs === undefined
      ? {}
      : { copyTrustMs: options.revocationCopy.trustMs }),
    ...(options.revocationCopy?.bloom === undefined
      ? {}
      : { copyBloom: options.revocationCopy.bloom }),
    ...(options.onRevocationEvent ? { onEvent: options.onRevocationEvent } : {}),
  });
  const verifier = new TokenVerifier(
    {
      publicKey: (kid) => keys.publicKey(kid),
      appToken: (hash) => appTokens.findByHash(hash),
      anyRevoked: (ids) => checker.anyRevoked(ids),
    },
    {
      issuer: config.issuer,
      audience: config.audience,
      clockSkewSeconds: config.clockSkewSeconds,
      maxTokenBytes: config.maxTokenBytes,
      now,
    },
  );
  const tokens = new TokenService({
    sql,
    audit: new AuditBatcher(sql),
    config,
    keys,
    verifier,
    appTokens,
    revocations,
    checker,
    now,
  });
  return {
    config,
    sql,
    redis,
    keyring,
    keys,
    appTokens,
    revocations,
    filter,
    checker,
    verifier,
    tokens,
    now,
  };
}

/**
 * Hears revocations made by other workers and replicas as they happen (a Redis subscriber
 * connection of its own), so this worker's remembered answers are dropped at once. Returns a
 * function that stops listening.
 */
export function listenForRevocationEvents(core: AuthCore): () => void {
  const subscriber = core.redis.duplicate();
  subscriber.on('error', () => {});
  listenForRevocations(subscriber, core.filter.channel, {
    onRevoked: (ids) => core.checker.revokedElsewhere(ids),
    onListening: (listening) => core.checker.setListening(listening),
  });
  return () => subscriber.disconnect();
}

/** How often each worker deletes revocation rows of tokens that expired over a day ago. */
const PRUNE_INTERVAL_MS = 60 * 60 * 1000;

/**
 * Keeps the revocation filter in step with Postgres: rebuilds it when Redis lost it and copies
 * recent revocations into it, every `intervalMs`; and hourly drops revocation rows whose tokens
 * have long expired, so the record, like the filter, stays bounded. Returns a function that stops
 * it.
 */
export function startRevocationMaintenance(core: AuthCore, intervalMs = 1000): () => void {
  let running = false;
  const tick = () => {
    if (running) return;
    running = true;
    core.checker
      .resync()
      .catch(() => {})
      .finally(() => {
        running = false;
      });
  };
  core.redis.on('close', () => core.checker.markSuspect());
  core.redis.on('ready', tick);
  const timer = setInterval(tick, intervalMs);
  timer.unref();
  tick();
  const prune = setInterval(() => void core.revocations.prune().catch(() => {}), PRUNE_INTERVAL_MS);
  prune.unref();
  return () => {
    clearInterval(timer);
    clearInterval(prune);
    core.redis.off('ready', tick);
  };
}
