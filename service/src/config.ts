/**
 * The service's configuration, read from the environment once at start-up, validated, typed and
 * frozen. Nothing else in the service reads `process.env`.
 */
import { scryptSync } from 'node:crypto';

export type AuthEnv = 'development' | 'staging' | 'production';

export interface TokenTtls {
  /** Lifetimes in seconds, by token kind. */
  readonly app: number;
  readonly bearer: number;
  readonly agent: number;
  readonly subagent: number;
  readonly session: number;
  readonly override: number;
}

export interface MasterKeyConfig {
  /** 32 bytes of key material. */
  readonly key: Buffer;
  /** True when the value was a passphrase stretched with scrypt rather than 32 random bytes. */
  readonly derived: boolean;
}

export interface Config {
  readonly databaseUrl: string;
  readonly redisUrl: string;
  readonly host: string;
  readonly port: number;
  readonly workers: number;
  /**
   * Each worker's V8 old-space limit in MB (--max-old-space-size), 0 for V8's default. Without a
   * limit V8 lets a busy worker's heap grow to several times what it holds before collecting.
   */
  readonly workerHeapMb: number;
  readonly env: AuthEnv;
  readonly masterKey: MasterKeyConfig;
  /** The master key before the current one, during a master-key rotation. */
  readonly previousMasterKey: MasterKeyConfig | undefined;
  readonly ttl: TokenTtls;
  readonly adminToken: string | undefined;
  readonly issuer: string;
  readonly audience: string;
  readonly logLevel: string;
  readonly clockSkewSeconds: number;
  readonly maxTokenBytes: number;
  readonly mintRateLimitPerMinute: number;
  readonly failedAuthRateLimitPerMinute: number;
  readonly shutdownGraceMs: number;
  /** A request still unanswered after this long gets 503 (a frozen Postgres must not hold callers). */
  readonly requestDeadlineMs: number;
  /**
   * A connection on which no byte has moved for this long is closed (see IdleConnections); longer
   * than `requestDeadlineMs`, so that a request being worked on is answered first.
   */
  readonly idleTimeoutMs: number;
  readonly trustProxy: boolean;
  readonly keyActivationDelaySeconds: number;
  readonly revocationRecheckMs: number;
  /** Things the operator should know that did not stop the start, e.g. a stretched passphrase. */
  readonly warnings: readonly string[];
}

/** A bad or missing variable; `message` is one line that starts with the variable's name. */
export class ConfigError extends Error {
  readonly variable: string;
  constructor(variable: string, problem: string) {
    super(`${variable}: ${problem}`);
    this.name = 'ConfigError';
    this.variable = variable;
  }
}

type Env = Readonly<Record<string, string | undefined>>;

/** Default of AUTH_REQUEST_DEADLINE_MS. */
export const DEFAULT_REQUEST_DEADLINE_MS = 4000;
/** Default of AUTH_IDLE_TIMEOUT_MS. */
export const DEFAULT_IDLE_TIMEOUT_MS = 30_000;

const KDF_SALT = 'quint-auth/master-key/v1';

function value(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

function required(env: Env, name: string, hint: string): string {
  const v = value(env, name);
  if (v === undefined) throw new ConfigError(name, `is required (${hint})`);
  return v;
}

/** AUTH_WORKER_HEAP_MB: 0 (V8's default) or at least 64, which the caches need with room. */
function workerHeapMb(env: Env): number {
  const mb = integer(env, 'AUTH_WORKER_HEAP_MB', 128, 0, 65_536);
  if (mb !== 0 && mb < 64) {
    throw new ConfigError('AUTH_WORKER_HEAP_MB', 'must be 0 (no limit) or at least 64');
  }
  return mb;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = value(env, name);
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw))
    throw new ConfigError(name, `must be a whole number, got ${JSON.stringify(raw)}`);
  const n = Number(raw);
  if (n < min || n > max)
    throw new ConfigError(name, `must be between ${min} and ${max}, got ${n}`);
  return n;
}

function boolean(env: Env, name: string, fallback: boolean): boolean {
  const raw = value(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
  if (['0', 'false', 'no', 'off'].includes(raw)) return false;
  throw new ConfigError(name, `must be true or false, got ${JSON.stringify(raw)}`);
}

/**
 * Accepts `postgres://`, `postgresql://` and the SQLAlchemy form `postgresql+asyncpg://` (the
 * platform's existing compose file uses it) and returns a URL postgres.js understands.
 */
export function normalizeDatabaseUrl(raw: string, name = 'AUTH_DATABASE_URL'): string {
  const url = raw.replace(/^postgresql\+[a-z0-9]+:\/\//i, 'postgres://');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(name, 'is not a URL (expected postgres://user:password@host:5432/db)');
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') {
    throw new ConfigError(name, `must be a postgres:// URL, got ${parsed.protocol}//…`);
  }
  if (!parsed.hostname && !parsed.searchParams.get('host')) {
    throw new ConfigError(name, 'has no host');
  }
  return url;
}

function redisUrl(env: Env): string {
  const raw = value(env, 'REDIS_URL') ?? 'redis://localhost:6379/0';
  let parsed: URL;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError('REDIS_URL', 'is not a URL (expected redis://host:6379/0)');
  }
  if (parsed.protocol !== 'redis:' && parsed.protocol !== 'rediss:') {
    throw new ConfigError(
      'REDIS_URL',
      `must be a redis:// or rediss:// URL, got ${parsed.protocol}//…`,
    );
  }
  return raw;
}

/**
 * Parses a master key: 32 bytes given as base64 (44 characters) or hex (64 characters) are used
 * as they are. Any other string is a passphrase: refused in production, stretched with scrypt
 * elsewhere (so the local compose file's readable key works) with a warning.
 */
export function parseMasterKey(raw: string, env: AuthEnv, name: string): MasterKeyConfig {
  if (/^[0-9a-fA-F]{64}$/.test(raw)) return { key: Buffer.from(raw, 'hex'), derived: false };
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(raw)) {
    const key = Buffer.from(raw.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
    if (key.length === 32) return { key, derived: false };
  }
  if (env === 'production') {
    throw new ConfigError(
      name,
      'must be 32 random bytes in base64 or hex in production (generate one with: openssl rand -base64 32)',
    );
  }
  if (raw.length < 8)
    throw new ConfigError(name, 'is too short to be a passphrase (use openssl rand -base64 32)');
  const key = scryptSync(raw, KDF_SALT, 32, { N: 2 ** 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 });
  return { key, derived: true };
}

/** Reads and validates the whole configuration; throws {@link ConfigError} on the first bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const envName = value(env, 'AUTH_ENV') ?? 'development';
  if (envName !== 'development' && envName !== 'staging' && envName !== 'production') {
    throw new ConfigError(
      'AUTH_ENV',
      `must be development, staging or production, got ${JSON.stringify(envName)}`,
    );
  }
  const authEnv: AuthEnv = envName;
  const databaseUrl = normalizeDatabaseUrl(
    required(
      env,
      'AUTH_DATABASE_URL',
      'a Postgres URL such as postgres://quint:secret@localhost:5432/quint',
    ),
  );
  const masterKey = parseMasterKey(
    required(env, 'AUTH_MASTER_KEY', 'generate one with: openssl rand -base64 32'),
    authEnv,
    'AUTH_MASTER_KEY',
  );
  const previousRaw = value(env, 'AUTH_MASTER_KEY_PREVIOUS');
  const previousMasterKey =
    previousRaw === undefined
      ? undefined
      : parseMasterKey(previousRaw, authEnv, 'AUTH_MASTER_KEY_PREVIOUS');

  const adminToken = value(env, 'AUTH_ADMIN_TOKEN');
  if (adminToken !== undefined && authEnv === 'production' && adminToken.length < 32) {
    throw new ConfigError('AUTH_ADMIN_TOKEN', 'must be at least 32 characters in production');
  }

  const warnings: string[] = [];
  if (masterKey.derived) {
    warnings.push(
      'AUTH_MASTER_KEY is a passphrase, not 32 random bytes; it was stretched with scrypt. Use openssl rand -base64 32 outside local development.',
    );
  }
  if (previousMasterKey?.derived) {
    warnings.push('AUTH_MASTER_KEY_PREVIOUS is a passphrase stretched with scrypt.');
  }
  const day = 86_400;
  const config: Config = {
    databaseUrl,
    redisUrl: redisUrl(env),
    host: value(env, 'AUTH_HOST') ?? '0.0.0.0',
    port: integer(env, 'AUTH_PORT', 8001, 1, 65_535),
    workers: integer(env, 'AUTH_WORKERS', 2, 1, 64),
    workerHeapMb: workerHeapMb(env),
    env: authEnv,
    masterKey,
    previousMasterKey,
    ttl: Object.freeze({
      app: integer(env, 'AUTH_APP_TOKEN_TTL_DAYS', 365, 1, 3650) * day,
      bearer: integer(env, 'AUTH_BEARER_TOKEN_TTL_DAYS', 90, 1, 3650) * day,
      agent: integer(env, 'AUTH_AGENT_TOKEN_TTL_HOURS', 24, 1, 24 * 365) * 3600,
      subagent: integer(env, 'AUTH_SUBAGENT_TOKEN_TTL_HOURS', 4, 1, 24 * 365) * 3600,
      session: integer(env, 'AUTH_SESSION_TOKEN_TTL_MINUTES', 60, 1, 60 * 24 * 365) * 60,
      override: integer(env, 'AUTH_OVERRIDE_TOKEN_TTL_MINUTES', 5, 1, 60 * 24) * 60,
    }),
    adminToken,
    issuer: value(env, 'AUTH_ISSUER') ?? 'quint-auth',
    audience: value(env, 'AUTH_AUDIENCE') ?? 'quint',
    logLevel: value(env, 'AUTH_LOG_LEVEL') ?? 'info',
    clockSkewSeconds: integer(env, 'AUTH_CLOCK_SKEW_SECONDS', 30, 0, 300),
    maxTokenBytes: integer(env, 'AUTH_MAX_TOKEN_BYTES', 8192, 512, 65_536),
    mintRateLimitPerMinute: integer(env, 'AUTH_RATE_LIMIT_MINT_PER_MINUTE', 1200, 1, 10_000_000),
    failedAuthRateLimitPerMinute: integer(
      env,
      'AUTH_RATE_LIMIT_FAILED_AUTH_PER_MINUTE',
      60,
      1,
      10_000_000,
    ),
    shutdownGraceMs: integer(env, 'AUTH_SHUTDOWN_GRACE_MS', 10_000, 0, 600_000),
    requestDeadlineMs: integer(
      env,
      'AUTH_REQUEST_DEADLINE_MS',
      DEFAULT_REQUEST_DEADLINE_MS,
      100,
      120_000,
    ),
    idleTimeoutMs: integer(env, 'AUTH_IDLE_TIMEOUT_MS', DEFAULT_IDLE_TIMEOUT_MS, 1000, 600_000),
    trustProxy: boolean(env, 'AUTH_TRUST_PROXY', false),
    keyActivationDelaySeconds: integer(env, 'AUTH_KEY_ACTIVATION_DELAY_SECONDS', 0, 0, 86_400),
    revocationRecheckMs: integer(env, 'AUTH_REVOCATION_RECHECK_MS', 250, 0, 1000),
    warnings: Object.freeze(warnings),
  };
  // A request still being worked on moves no bytes: it must get its answer (a 503 at the latest)
  // before its connection can count as idle.
  if (config.idleTimeoutMs <= config.requestDeadlineMs) {
    throw new ConfigError(
      'AUTH_IDLE_TIMEOUT_MS',
      `must be longer than AUTH_REQUEST_DEADLINE_MS (${config.requestDeadlineMs}), got ${config.idleTimeoutMs}`,
    );
  }
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(config.logLevel)) {
    throw new ConfigError(
      'AUTH_LOG_LEVEL',
      `must be one of fatal, error, warn, info, debug, trace, silent`,
    );
  }
  return Object.freeze(config);
}
