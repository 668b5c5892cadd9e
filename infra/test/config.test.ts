/**
 * `parseStackConfig`: what a stack may configure, and the errors an operator sees, each naming
 * its key. Pure: no Pulumi runtime needed.
 */
import * as pulumi from '@pulumi/pulumi';
import { describe, expect, it } from 'vitest';
import {
  StackConfigError,
  isMasterKey,
  parseStackConfig,
  type RawConfig,
  type StackConfig,
} from '../config.js';

const MASTER_KEY = Buffer.alloc(32, 9).toString('base64');

const minimal: RawConfig = {
  'docker:host': 'ssh://deploy@prod.example',
  'quint:apiImage': 'ghcr.io/quint/api:1.4.2',
  'quint:orchestratorImage': 'ghcr.io/quint/orchestrator@sha256:' + 'c'.repeat(64),
  'quint:authMasterKey': MASTER_KEY,
};

function problems(stack: string, raw: RawConfig): string[] {
  try {
    parseStackConfig(stack, raw);
  } catch (error) {
    expect(error).toBeInstanceOf(StackConfigError);
    return (error as StackConfigError).problems.map((p) => `${p.key}: ${p.message}`);
  }
  throw new Error('expected the configuration to be refused');
}

function reveal(output: pulumi.Output<string>): Promise<string> {
  return new Promise((resolve) => output.apply(resolve));
}

describe('a valid configuration', () => {
  it('fills in defaults for everything optional', () => {
    const config: StackConfig = parseStackConfig('production', minimal);
    expect(config).toMatchObject({
      stack: 'production',
      dockerHost: 'ssh://deploy@prod.example',
      protectData: true,
      postgres: { kind: 'container', image: 'postgres:17-trixie' },
      redis: { kind: 'container', image: 'redis:8-trixie' },
      auth: {
        workers: 2,
        image: {
          kind: 'build',
          dockerfile: 'docker/Dockerfile.auth',
          imageName: 'quint-auth:manual',
        },
        tokenTtls: {},
      },
      api: { image: 'ghcr.io/quint/api:1.4.2', publicPort: 8000, user: '10001:10001' },
      orchestrator: { user: '10001:10001' },
    });
  });

  it('is frozen', () => {
    const config = parseStackConfig('production', minimal);
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.auth)).toBe(true);
  });

  it('returns the master key and external URLs only as Pulumi secrets', async () => {
    const config = parseStackConfig('production', {
      ...minimal,
      'quint:postgres': 'external',
      'quint:postgresUrl': 'postgres://u:p@db.example:5432/quint',
    });
    if (config.auth.masterKey.kind !== 'config') throw new Error('expected a configured key');
    expect(await pulumi.isSecret(config.auth.masterKey.value)).toBe(true);
    expect(await reveal(config.auth.masterKey.value)).toBe(MASTER_KEY);
    if (config.postgres.kind !== 'external') throw new Error('expected an external database');
    expect(await pulumi.isSecret(config.postgres.url)).toBe(true);
  });

  it('maps token lifetime keys to the contract variables', () => {
    const config = parseStackConfig('production', {
      ...minimal,
      'quint:authSessionTokenTtlMinutes': '30',
      'quint:authAppTokenTtlDays': '180',
    });
    expect(config.auth.tokenTtls).toEqual({
      AUTH_SESSION_TOKEN_TTL_MINUTES: 30,
      AUTH_APP_TOKEN_TTL_DAYS: 180,
    });
  });

  it('lets staging generate its master key instead', () => {
    const { 'quint:authMasterKey': _, ...withoutKey } = minimal;
    const config = parseStackConfig('staging', {
      ...withoutKey,
      'quint:generateAuthMasterKey': 'true',
    });
    expect(config.auth.masterKey).toEqual({ kind: 'generate' });
    expect(config.protectData).toBe(false);
  });

  it('accepts an earlier image, by digest, for a rollback', () => {
    const previous = `sha256:${'e'.repeat(64)}`;
    const config = parseStackConfig('production', { ...minimal, 'quint:authImage': previous });
    expect(config.auth.image).toEqual({ kind: 'prebuilt', reference: previous });
  });
});

describe('AUTH_MASTER_KEY', () => {
  const { 'quint:authMasterKey': _, ...withoutKey } = minimal;

  it('is required in production, with the command that sets it', () => {
    expect(problems('production', withoutKey)).toEqual([
      expect.stringMatching(
        /^quint:authMasterKey: required in production .*pulumi config set --secret quint:authMasterKey --stack production "\$\(openssl rand -base64 32\)"$/,
      ),
    ]);
  });

  it('cannot be generated in production', () => {
    expect(
      problems('production', { ...withoutKey, 'quint:generateAuthMasterKey': 'true' }),
    ).toEqual([expect.stringMatching(/^quint:authMasterKey: required in production/)]);
  });

  it('is required in staging unless generated', () => {
    expect(problems('staging', withoutKey)).toEqual([
      expect.stringMatching(
        /^quint:authMasterKey: required unless quint:generateAuthMasterKey is true/,
      ),
    ]);
  });

  it('must be 32 bytes, and a bad one is never echoed', () => {
    const leaked = 'local-dev-master-key-do-not-use-in-prod';
    const found = problems('production', { ...minimal, 'quint:authMasterKey': leaked });
    expect(found).toEqual([expect.stringMatching(/^quint:authMasterKey: must be 32 random bytes/)]);
    expect(found.join('\n')).not.toContain(leaked);
  });

  it('cannot come from two sources at once', () => {
    expect(problems('staging', { ...minimal, 'quint:generateAuthMasterKey': 'true' })).toEqual([
      expect.stringMatching(
        /^quint:generateAuthMasterKey: cannot be true while quint:authMasterKey is set/,
      ),
    ]);
  });

  it.each([
    [Buffer.alloc(32, 1).toString('base64'), true],
    [Buffer.alloc(32, 1).toString('base64url'), true],
    [Buffer.alloc(32, 1).toString('hex'), true],
    [Buffer.alloc(31, 1).toString('base64'), false],
    [Buffer.alloc(33, 1).toString('hex'), false],
    ['not a key', false],
  ])('isMasterKey(%j) is %s', (value, expected) => {
    expect(isMasterKey(value)).toBe(expected);
  });
});

describe('errors name their key', () => {
  it.each<[string, RawConfig, RegExp]>([
    ['no Docker host', { ...minimal, 'docker:host': '' }, /^docker:host: required/],
    [
      'a Docker host that is not a URL',
      { ...minimal, 'docker:host': 'prod.example' },
      /^docker:host: must be a Docker host URL/,
    ],
    ['no API image', { ...minimal, 'quint:apiImage': undefined }, /^quint:apiImage: required/],
    [
      'an untagged image',
      { ...minimal, 'quint:apiImage': 'ghcr.io/quint/api' },
      /^quint:apiImage: "ghcr.io\/quint\/api" has no tag or digest/,
    ],
    [
      'the latest tag',
      { ...minimal, 'quint:orchestratorImage': 'ghcr.io/quint/orchestrator:latest' },
      /^quint:orchestratorImage: .*moving tag "latest"/,
    ],
    ['a typo in a key', { ...minimal, 'quint:authWorker': '4' }, /^quint:authWorker: unknown key/],
    [
      'a worker count of zero',
      { ...minimal, 'quint:authWorkers': '0' },
      /^quint:authWorkers: must be a whole number from 1 to 64/,
    ],
    [
      'a boolean that is not one',
      { ...minimal, 'quint:protectData': 'yes' },
      /^quint:protectData: must be true or false/,
    ],
    [
      'unprotected production data',
      { ...minimal, 'quint:protectData': 'false' },
      /^quint:protectData: cannot be false in production/,
    ],
    [
      'an external database without its URL',
      { ...minimal, 'quint:postgres': 'external' },
      /^quint:postgresUrl: required when quint:postgres is "external"/,
    ],
    [
      'a database URL of another kind',
      { ...minimal, 'quint:postgres': 'external', 'quint:postgresUrl': 'mysql://x' },
      /^quint:postgresUrl: must start with postgres:\/\//,
    ],
    [
      'a URL the stack would ignore',
      { ...minimal, 'quint:redisUrl': 'redis://cache:6379' },
      /^quint:redisUrl: is set but quint:redis is "container"/,
    ],
    [
      'an unknown data store mode',
      { ...minimal, 'quint:redis': 'managed' },
      /^quint:redis: must be "container" or "external"/,
    ],
    [
      'a root user',
      { ...minimal, 'quint:apiUser': 'root' },
      /^quint:apiUser: must name a non-root user/,
    ],
    [
      'a health check that is not a command',
      { ...minimal, 'quint:apiHealthcheck': '"curl"' },
      /^quint:apiHealthcheck: must be a list starting with CMD/,
    ],
    [
      'a release that is not a tag',
      { ...minimal, 'quint:release': 'feature/x' },
      /^quint:release: must be usable as an image tag/,
    ],
  ])('%s', (_, raw, expected) => {
    expect(problems('production', raw)).toEqual([expect.stringMatching(expected)]);
  });

  it('reports every problem at once, one line each', () => {
    let message = '';
    try {
      parseStackConfig('production', { 'quint:apiImag': 'x' });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'stack "production" has invalid configuration:',
      expect.stringMatching(/^ {2}quint:apiImag: unknown key/),
      expect.stringMatching(/^ {2}docker:host: required/),
      expect.stringMatching(/^ {2}quint:authMasterKey: required in production/),
      expect.stringMatching(/^ {2}quint:apiImage: required/),
      expect.stringMatching(/^ {2}quint:orchestratorImage: required/),
    ]);
  });

  it('is a RunError, so Pulumi prints it without a stack trace', () => {
    expect(() => parseStackConfig('production', {})).toThrow(StackConfigError);
    try {
      parseStackConfig('production', {});
    } catch (error) {
      expect(pulumi.RunError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ code: 'INFRA_CONFIG_INVALID' });
    }
  });
});
