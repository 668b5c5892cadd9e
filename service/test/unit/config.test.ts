/**
 * Contract section 3: the service's environment, its defaults, and the one-line refusal that
 * names the variable.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig, normalizeDatabaseUrl, parseMasterKey } from '../../src/config.js';

const KEY = randomBytes(32);
const BASE = {
  AUTH_DATABASE_URL: 'postgres://quint:secret@localhost:5432/quint',
  AUTH_MASTER_KEY: KEY.toString('base64'),
} as const;
const COMPOSE_KEY = 'local-dev-master-key-do-not-use-in-prod';

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig defaults (contract section 3)', () => {
  const config = loadConfig({ ...BASE });

  it('uses the contract defaults for every optional variable', () => {
    expect(config.redisUrl).toBe('redis://localhost:6379/0');
    expect(config.port).toBe(8001);
    expect(config.workers).toBe(2);
    expect(config.env).toBe('development');
    expect(config.adminToken).toBeUndefined();
    expect(config.previousMasterKey).toBeUndefined();
  });

  it('turns the contract TTL defaults into seconds', () => {
    expect(config.ttl).toEqual({
      app: 365 * 24 * 3600,
      bearer: 90 * 24 * 3600,
      agent: 24 * 3600,
      subagent: 4 * 3600,
      session: 60 * 60,
      override: 5 * 60,
    });
  });

  it('is frozen, so nothing downstream can change it', () => {
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.ttl)).toBe(true);
    expect(Object.isFrozen(config.warnings)).toBe(true);
  });

  it('reads every variable the contract names', () => {
    const c = loadConfig({
      ...BASE,
      REDIS_URL: 'rediss://cache:6380/2',
      AUTH_PORT: '9001',
      AUTH_WORKERS: '4',
      AUTH_ENV: 'staging',
      AUTH_APP_TOKEN_TTL_DAYS: '30',
      AUTH_BEARER_TOKEN_TTL_DAYS: '7',
      AUTH_AGENT_TOKEN_TTL_HOURS: '2',
      AUTH_SUBAGENT_TOKEN_TTL_HOURS: '1',
      AUTH_SESSION_TOKEN_TTL_MINUTES: '15',
      AUTH_OVERRIDE_TOKEN_TTL_MINUTES: '1',
      AUTH_ADMIN_TOKEN: 'an-admin-secret',
    });
    expect(c).toMatchObject({
      redisUrl: 'rediss://cache:6380/2',
      port: 9001,
      workers: 4,
      env: 'staging',
      adminToken: 'an-admin-secret',
      ttl: {
        app: 30 * 86_400,
        bearer: 7 * 86_400,
        agent: 2 * 3600,
        subagent: 3600,
        session: 15 * 60,
        override: 60,
      },
    });
  });

  it('treats an empty variable as unset', () => {
    const c = loadConfig({ ...BASE, AUTH_PORT: '', REDIS_URL: '  ', AUTH_ADMIN_TOKEN: '' });
    expect(c.port).toBe(8001);
    expect(c.redisUrl).toBe('redis://localhost:6379/0');
    expect(c.adminToken).toBeUndefined();
  });
});

describe('AUTH_DATABASE_URL', () => {
  it('accepts the SQLAlchemy form from the existing compose file and hands postgres.js a postgres:// URL', () => {
    const c = loadConfig({
      ...BASE,
      AUTH_DATABASE_URL: 'postgresql+asyncpg://quint:pw@db:5432/quint',
    });
    expect(c.databaseUrl).toBe('postgres://quint:pw@db:5432/quint');
  });

  it.each(['postgres://u:p@h:5432/db', 'postgresql://u:p@h/db'])('accepts %s as it is', (url) => {
    expect(normalizeDatabaseUrl(url)).toBe(url);
  });

  it.each([
    ['a non-URL', 'not a url'],
    ['another scheme', 'mysql://u:hunter2@h/db'],
    ['another SQLAlchemy driver on another scheme', 'mysql+aiomysql://u:hunter2@h/db'],
  ])('refuses %s, naming the variable without echoing the password', (_what, url) => {
    const e = configError(() => loadConfig({ ...BASE, AUTH_DATABASE_URL: url }));
    expect(e.variable).toBe('AUTH_DATABASE_URL');
    expect(e.message.startsWith('AUTH_DATABASE_URL')).toBe(true);
    expect(e.message).not.toContain('hunter2');
  });
});

describe('AUTH_MASTER_KEY', () => {
  it('uses 32 bytes given in base64 exactly as they are', () => {
    expect(parseMasterKey(KEY.toString('base64'), 'production', 'K')).toEqual({
      key: KEY,
      derived: false,
    });
  });

  it('uses 32 bytes given in base64url (no padding) exactly as they are', () => {
    expect(parseMasterKey(KEY.toString('base64url'), 'production', 'K').key).toEqual(KEY);
  });

  it.each([
    ['lower-case', KEY.toString('hex')],
    ['upper-case', KEY.toString('hex').toUpperCase()],
  ])('uses 32 bytes given in %s hex exactly as they are', (_case, hex) => {
    expect(parseMasterKey(hex, 'production', 'K')).toEqual({ key: KEY, derived: false });
  });

  it('refuses a passphrase in production with one line naming the variable and how to make a key', () => {
    const e = configError(() =>
      loadConfig({ ...BASE, AUTH_ENV: 'production', AUTH_MASTER_KEY: COMPOSE_KEY }),
    );
    expect(e.variable).toBe('AUTH_MASTER_KEY');
    expect(e.message).toMatch(/^AUTH_MASTER_KEY: .*openssl rand -base64 32/);
    expect(e.message).not.toContain('\n');
    expect(e.message).not.toContain(COMPOSE_KEY);
  });

  it.each([
    ['31 bytes of base64', randomBytes(31).toString('base64')],
    ['33 bytes of base64', randomBytes(33).toString('base64')],
    ['16 bytes of hex', randomBytes(16).toString('hex')],
  ])('refuses %s in production (a key of the wrong size is not a key)', (_what, raw) => {
    expect(configError(() => parseMasterKey(raw, 'production', 'AUTH_MASTER_KEY')).variable).toBe(
      'AUTH_MASTER_KEY',
    );
  });

  it.each(['development', 'staging'] as const)(
    "stretches the compose file's passphrase in %s and warns about it",
    (env) => {
      const c = loadConfig({ ...BASE, AUTH_ENV: env, AUTH_MASTER_KEY: COMPOSE_KEY });
      expect(c.masterKey.derived).toBe(true);
      expect(c.masterKey.key).toHaveLength(32);
      expect(c.warnings.some((w) => w.startsWith('AUTH_MASTER_KEY'))).toBe(true);
    },
  );

  it('stretches a passphrase deterministically (every worker and restart derives the same key)', () => {
    const a = parseMasterKey(COMPOSE_KEY, 'development', 'K').key;
    const b = parseMasterKey(COMPOSE_KEY, 'development', 'K').key;
    const other = parseMasterKey(`${COMPOSE_KEY}!`, 'development', 'K').key;
    expect(a.equals(b)).toBe(true);
    expect(a.equals(other)).toBe(false);
    // Stretched, not merely copied or hashed without a KDF.
    expect(a.equals(Buffer.from(COMPOSE_KEY).subarray(0, 32))).toBe(false);
  });

  it('does not warn about a real 32-byte key', () => {
    expect(loadConfig({ ...BASE }).warnings).toEqual([]);
  });

  it('reads AUTH_MASTER_KEY_PREVIOUS with the same rules, naming it when it is bad', () => {
    const previous = randomBytes(32);
    const c = loadConfig({ ...BASE, AUTH_MASTER_KEY_PREVIOUS: previous.toString('hex') });
    expect(c.previousMasterKey?.key).toEqual(previous);
    const e = configError(() =>
      loadConfig({ ...BASE, AUTH_ENV: 'production', AUTH_MASTER_KEY_PREVIOUS: COMPOSE_KEY }),
    );
    expect(e.variable).toBe('AUTH_MASTER_KEY_PREVIOUS');
  });
});

describe('a bad or missing value stops the start with one line naming the variable', () => {
  const cases: [string, Record<string, string | undefined>][] = [
    ['AUTH_DATABASE_URL', { AUTH_DATABASE_URL: undefined }],
    ['AUTH_MASTER_KEY', { AUTH_MASTER_KEY: undefined }],
    ['AUTH_MASTER_KEY', { AUTH_MASTER_KEY: '   ' }],
    ['AUTH_ENV', { AUTH_ENV: 'prod' }],
    ['AUTH_ENV', { AUTH_ENV: 'Production' }],
    ['REDIS_URL', { REDIS_URL: 'http://cache:6379' }],
    ['REDIS_URL', { REDIS_URL: 'cache:6379:x' }],
    ['AUTH_PORT', { AUTH_PORT: 'eighty' }],
    ['AUTH_PORT', { AUTH_PORT: '0' }],
    ['AUTH_PORT', { AUTH_PORT: '65536' }],
    ['AUTH_PORT', { AUTH_PORT: '-1' }],
    ['AUTH_PORT', { AUTH_PORT: '80.5' }],
    ['AUTH_WORKERS', { AUTH_WORKERS: '0' }],
    ['AUTH_WORKERS', { AUTH_WORKERS: 'two' }],
    ['AUTH_APP_TOKEN_TTL_DAYS', { AUTH_APP_TOKEN_TTL_DAYS: '0' }],
    ['AUTH_BEARER_TOKEN_TTL_DAYS', { AUTH_BEARER_TOKEN_TTL_DAYS: '1e3' }],
    ['AUTH_AGENT_TOKEN_TTL_HOURS', { AUTH_AGENT_TOKEN_TTL_HOURS: '24h' }],
    ['AUTH_SUBAGENT_TOKEN_TTL_HOURS', { AUTH_SUBAGENT_TOKEN_TTL_HOURS: '-4' }],
    ['AUTH_SESSION_TOKEN_TTL_MINUTES', { AUTH_SESSION_TOKEN_TTL_MINUTES: 'sixty' }],
    ['AUTH_OVERRIDE_TOKEN_TTL_MINUTES', { AUTH_OVERRIDE_TOKEN_TTL_MINUTES: '0' }],
    ['AUTH_ADMIN_TOKEN', { AUTH_ENV: 'production', AUTH_ADMIN_TOKEN: 'short' }],
    ['AUTH_IDLE_TIMEOUT_MS', { AUTH_IDLE_TIMEOUT_MS: '999' }],
    ['AUTH_IDLE_TIMEOUT_MS', { AUTH_IDLE_TIMEOUT_MS: '30s' }],
    ['AUTH_IDLE_TIMEOUT_MS', { AUTH_IDLE_TIMEOUT_MS: '4000' }],
    ['AUTH_IDLE_TIMEOUT_MS', { AUTH_REQUEST_DEADLINE_MS: '60000' }],
  ];

  it.each(cases)('%s: %j', (variable, overrides) => {
    const env: Record<string, string | undefined> = { ...BASE, ...overrides };
    const e = configError(() => loadConfig(env));
    expect(e.variable).toBe(variable);
    expect(e.message.startsWith(`${variable}: `)).toBe(true);
    expect(e.message).not.toContain('\n');
  });

  it('never echoes the admin token it refuses', () => {
    const e = configError(() =>
      loadConfig({ ...BASE, AUTH_ENV: 'production', AUTH_ADMIN_TOKEN: 'tiny-secret' }),
    );
    expect(e.message).not.toContain('tiny-secret');
  });

  it('accepts the boundary values the ranges allow', () => {
    const c = loadConfig({ ...BASE, AUTH_PORT: '65535', AUTH_WORKERS: '1' });
    expect(c.port).toBe(65_535);
    expect(c.workers).toBe(1);
    expect(
      loadConfig({ ...BASE, AUTH_IDLE_TIMEOUT_MS: '1000', AUTH_REQUEST_DEADLINE_MS: '999' })
        .idleTimeoutMs,
    ).toBe(1000);
    expect(loadConfig({ ...BASE }).idleTimeoutMs).toBe(30_000);
  });
});

describe('a value with a line break is still reported on one line', () => {
  it.each([
    ['AUTH_PORT', '80\n01'],
    ['AUTH_ENV', 'dev\nx'],
    ['AUTH_TRUST_PROXY', 'yes\nno'],
  ])('%s', (name, bad) => {
    let message = '';
    try {
      loadConfig({
        AUTH_DATABASE_URL: 'postgres://u@localhost/db',
        AUTH_MASTER_KEY: Buffer.alloc(32, 1).toString('base64'),
        [name]: bad,
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(new RegExp(`^${name}: `));
    expect(message.split('\n')).toHaveLength(1);
  });
});
