/**
 * The Pulumi program, evaluated for each stack under Pulumi's mocks: the topology, secrets and
 * safety options each resource receives.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT } from '../config.js';
import { isSecretValue, reveal, type Evaluation } from '../testing/evaluate.js';
import { ALIASES, AUTH_HEALTHCHECK, PORTS } from '../topology.js';
import {
  TEST_MASTER_KEY,
  container,
  containers,
  env,
  evaluate,
  named,
  networks,
  ofType,
  secretEnvNames,
  serviceLabel,
  stackConfig,
} from './stacks.js';

const NETWORK = 'docker:index/network:Network';
const VOLUME = 'docker:index/volume:Volume';

describe.each(['staging', 'production'] as const)('the %s stack', (stack) => {
  let program: Evaluation;
  beforeAll(async () => {
    program = await evaluate(stack, stackConfig(stack));
  });

  it('declares a private internal network and a public one, named after the stack', () => {
    const byName = new Map(ofType(program, NETWORK).map((n) => [n.inputs['name'], n.inputs]));
    expect(byName.get(`quint-${stack}-private`)).toMatchObject({ internal: true });
    expect(byName.get(`quint-${stack}-public`)).toMatchObject({ internal: false });
    expect(byName.size).toBe(2);
  });

  it('runs the five services, each in one container', () => {
    expect(containers(program).map(serviceLabel).sort()).toEqual([
      'api',
      'auth',
      'orchestrator',
      'postgres',
      'redis',
    ]);
  });

  it.each(['postgres', 'redis', 'auth', 'orchestrator'] as const)(
    'puts %s on the private network only, under its alias',
    (service) => {
      expect(networks(container(program, service))).toEqual([
        { name: `quint-${stack}-private`, aliases: [ALIASES[service]] },
      ]);
    },
  );

  it('puts the API on both networks, reachable as "api" on the private one', () => {
    expect(networks(container(program, 'api'))).toEqual([
      { name: `quint-${stack}-private`, aliases: ['api'] },
      { name: `quint-${stack}-public`, aliases: [] },
    ]);
  });

  it('publishes exactly one port on the host: the API on 8000', () => {
    const published = containers(program).flatMap((c) =>
      ((reveal(c.inputs['ports']) ?? []) as { internal: number; external: number }[]).map(
        (p) => `${serviceLabel(c)}:${p.external}->${p.internal}`,
      ),
    );
    expect(published).toEqual(['api:8000->8000']);
  });

  it.each(['postgres', 'redis', 'auth', 'api', 'orchestrator'] as const)(
    'supervises %s: health check, restart policy, init, non-root user, wait for healthy',
    (service) => {
      const inputs = reveal(container(program, service).inputs) as Record<string, unknown>;
      expect((inputs['healthcheck'] as { tests: string[] }).tests[0]).toMatch(/^CMD(-SHELL)?$/);
      expect(inputs['restart']).toBe('unless-stopped');
      expect(inputs['init']).toBe(true);
      expect(inputs['user']).toMatch(/^(?!root|0(:|$)).+/);
      expect(inputs['wait']).toBe(true);
    },
  );

  describe('auth service', () => {
    it('runs the image built from docker/Dockerfile.auth, pinned by digest', () => {
      const image = ofType(program, 'docker:index/image:Image');
      expect(image).toHaveLength(1);
      expect(image[0]?.inputs).toMatchObject({
        build: { context: '.', dockerfile: 'docker/Dockerfile.auth' },
        skipPush: true,
      });
      // The mocks answer repoDigest with a placeholder naming the build: the container uses it,
      // not the moving tag.
      expect(container(program, 'auth').inputs['image']).toBe(
        '<digest of quint-auth:manual, built on the host>',
      );
    });

    it('is replaced without dropping traffic: no fixed name or host port, new one healthy first', () => {
      const auth = container(program, 'auth');
      expect(auth.inputs['name']).toBeUndefined();
      expect(auth.inputs['ports']).toBeUndefined();
      expect(auth.options.deleteBeforeReplace).toBe(false);
      expect(auth.inputs).toMatchObject({ wait: true, destroyGraceSeconds: 30 });
      expect(networks(auth)[0]?.aliases).toEqual(['auth']);
    });

    it('runs as the image user 10001:10001 with the image health probe', () => {
      const inputs = reveal(container(program, 'auth').inputs) as Record<string, unknown>;
      expect(inputs['user']).toBe('10001:10001');
      expect(inputs['healthcheck']).toMatchObject({ tests: [...AUTH_HEALTHCHECK] });
    });

    it("gets the contract's environment", () => {
      const variables = env(container(program, 'auth'));
      expect(variables.get('AUTH_ENV')).toBe(stack);
      expect(variables.get('AUTH_PORT')).toBe('8001');
      expect(variables.get('AUTH_WORKERS')).toBe(stack === 'production' ? '4' : '2');
      expect(variables.get('AUTH_DATABASE_URL')).toMatch(
        /^postgres:\/\/quint:[A-Za-z0-9_-]+@postgres:5432\/quint$/,
      );
      expect(variables.get('REDIS_URL')).toBe('redis://redis:6379/0');
      expect(variables.get('AUTH_MASTER_KEY')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
      expect(variables.get('AUTH_ADMIN_TOKEN')).toMatch(/^\S{32,}$/);
    });

    it('passes every secret as a Pulumi secret and keeps the whole environment secret in state', () => {
      const auth = container(program, 'auth');
      expect(secretEnvNames(auth).sort()).toEqual([
        'AUTH_ADMIN_TOKEN',
        'AUTH_DATABASE_URL',
        'AUTH_MASTER_KEY',
        'REDIS_URL',
      ]);
      expect(isSecretValue(auth.inputs['envs'])).toBe(true);
      expect(auth.options.additionalSecretOutputs).toContain('envs');
    });

    it('gives the API and the orchestrator the auth URL on the private network', () => {
      expect(env(container(program, 'api')).get('AUTH_SERVICE_URL')).toBe('http://auth:8001');
      expect(env(container(program, 'orchestrator')).get('AUTH_SERVICE_URL')).toBe(
        'http://auth:8001',
      );
    });
  });

  it('generates the Postgres password and uses it on both ends', () => {
    const postgres = container(program, 'postgres');
    expect(secretEnvNames(postgres)).toEqual(['POSTGRES_PASSWORD']);
    expect(isSecretValue(postgres.inputs['envs'])).toBe(true);
    const password = env(postgres).get('POSTGRES_PASSWORD');
    expect(env(container(program, 'auth')).get('AUTH_DATABASE_URL')).toContain(`:${password}@`);
    expect(env(postgres)).toEqual(
      new Map([
        ['POSTGRES_DB', 'quint'],
        ['POSTGRES_USER', 'quint'],
        ['POSTGRES_PASSWORD', password],
      ]),
    );
  });

  it('keeps Postgres and Redis data on named volumes, stopping the old server before a new one', () => {
    const mounts = (service: 'postgres' | 'redis') =>
      reveal(container(program, service).inputs['volumes']) as { volumeName: string }[];
    expect(mounts('postgres')).toEqual([
      { volumeName: `quint-${stack}-postgres-data`, containerPath: '/var/lib/postgresql/data' },
    ]);
    expect(mounts('redis')).toEqual([
      { volumeName: `quint-${stack}-redis-data`, containerPath: '/data' },
    ]);
    expect(container(program, 'postgres').options.deleteBeforeReplace).toBe(true);
    expect(container(program, 'redis').options.deleteBeforeReplace).toBe(true);
  });

  it('exports what the pipeline needs and no secret', () => {
    expect(program.outputs).toEqual({
      apiPort: { value: PORTS.api, secret: false },
      authImage: { value: '<digest of quint-auth:manual, built on the host>', secret: false },
      authUrl: { value: 'http://auth:8001', secret: false },
      dockerHost: { value: expect.stringMatching(/^ssh:\/\/deploy@/), secret: false },
      privateNetwork: { value: `quint-${stack}-private`, secret: false },
    });
  });
});

describe('data protection', () => {
  it('protects and retains the data volumes and Postgres password in production', async () => {
    const production = await evaluate('production', stackConfig('production'));
    for (const volume of ofType(production, VOLUME)) {
      expect(volume.options, volume.name).toMatchObject({ protect: true, retainOnDelete: true });
    }
    expect(named(production, 'postgres-password').options.protect).toBe(true);
  });

  it('lets staging data be thrown away', async () => {
    const staging = await evaluate('staging', stackConfig('staging'));
    for (const volume of ofType(staging, VOLUME)) expect(volume.options.protect).toBe(false);
  });
});

describe('AUTH_MASTER_KEY', () => {
  it('comes from the secret configuration in production, with nothing generated', async () => {
    const production = await evaluate('production', stackConfig('production'));
    expect(env(container(production, 'auth')).get('AUTH_MASTER_KEY')).toBe(TEST_MASTER_KEY);
    expect(ofType(production, 'random:index/randomBytes:RandomBytes')).toEqual([]);
  });

  it('is generated once in staging, protected so it can never be regenerated', async () => {
    const staging = await evaluate('staging', stackConfig('staging'));
    const key = named(staging, 'auth-master-key');
    expect(key.type).toBe('random:index/randomBytes:RandomBytes');
    expect(key.inputs).toMatchObject({ length: 32 });
    expect(key.inputs['keepers']).toBeUndefined();
    expect(key.options).toMatchObject({ protect: true, retainOnDelete: true });
    expect(env(container(staging, 'auth')).get('AUTH_MASTER_KEY')).toMatch(/^[A-Za-z0-9+/]{43}=$/);
  });

  it('stops a production deploy that lacks it, naming the key', async () => {
    const config = stackConfig('production');
    delete config[`${PROJECT}:authMasterKey`];
    await expect(evaluate('production', config)).rejects.toThrow(
      /quint:authMasterKey: required in production/,
    );
  });
});

describe('managed Postgres and Redis', () => {
  let program: Evaluation;
  const postgresUrl = 'postgresql+asyncpg://auth:s3cret-pw@db.managed.example:5432/quint';
  const redisUrl = 'rediss://:r3dis-pw@cache.managed.example:6380/0';
  beforeAll(async () => {
    program = await evaluate('production', {
      ...stackConfig('production'),
      [`${PROJECT}:postgres`]: 'external',
      [`${PROJECT}:postgresUrl`]: postgresUrl,
      [`${PROJECT}:redis`]: 'external',
      [`${PROJECT}:redisUrl`]: redisUrl,
    });
  });

  it('runs no database containers, volumes or passwords', () => {
    expect(containers(program).map(serviceLabel).sort()).toEqual(['api', 'auth', 'orchestrator']);
    expect(ofType(program, VOLUME)).toEqual([]);
    expect(program.resources.map((r) => r.name)).not.toContain('postgres-password');
  });

  it('hands the configured URLs to auth as secrets', () => {
    const auth = container(program, 'auth');
    expect(env(auth).get('AUTH_DATABASE_URL')).toBe(postgresUrl);
    expect(env(auth).get('REDIS_URL')).toBe(redisUrl);
    expect(secretEnvNames(auth)).toEqual(
      expect.arrayContaining(['AUTH_DATABASE_URL', 'REDIS_URL']),
    );
  });
});

describe('rollback to an earlier auth image', () => {
  it('runs the configured image, resolved to its digest, and builds nothing', async () => {
    const previous = `sha256:${'ab'.repeat(32)}`;
    const program = await evaluate('production', {
      ...stackConfig('production'),
      [`${PROJECT}:authImage`]: previous,
    });
    expect(ofType(program, 'docker:index/image:Image')).toEqual([]);
    expect(named(program, 'auth-image').inputs).toMatchObject({
      name: previous,
      keepLocally: true,
    });
    expect(container(program, 'auth').inputs['image']).toBe(`<digest of ${previous}>`);
    expect(program.outputs['authImage']?.value).toBe(`<digest of ${previous}>`);
  });

  it('tags each build with the release the pipeline passes', async () => {
    const program = await evaluate('staging', {
      ...stackConfig('staging'),
      [`${PROJECT}:release`]: '3f2a1bc',
    });
    expect(named(program, 'auth-image').inputs['imageName']).toBe('quint-auth:3f2a1bc');
  });
});

describe('invalid configuration', () => {
  it('stops the program with one error listing each bad key', async () => {
    const config = stackConfig('staging');
    delete config[`${PROJECT}:apiImage`];
    config[`${PROJECT}:authWorker`] = '3';
    const failure = evaluate('staging', config);
    // (Each evaluation loads its own copy of config.ts, so match the error by its code.)
    await expect(failure).rejects.toMatchObject({ code: 'INFRA_CONFIG_INVALID' });
    await expect(failure).rejects.toThrow(/quint:apiImage: required/);
    await expect(failure).rejects.toThrow(/quint:authWorker: unknown key/);
  });

  it('refuses a stack this program does not deploy', async () => {
    await expect(evaluate('dev', stackConfig('staging'))).rejects.toThrow(
      /stack: "dev" is not a stack this program deploys/,
    );
  });
});
