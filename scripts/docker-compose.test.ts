/**
 * docker-compose.yml and the Pulumi program describe the same stack. This reads the compose file
 * and what the program declares for each stack (infra/rendered/<stack>.yaml, which infra's own
 * tests keep equal to a fresh rendering) and checks, service by service: networks and aliases,
 * which network is internal, environment variable names (and the values that are not secrets),
 * health checks, users, commands, data paths, published ports, restart policy, init and labels.
 * It also checks that every file naming the base images names the same ones.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const root = fileURLToPath(new URL('../', import.meta.url));
const read = (path: string) => readFileSync(`${root}${path}`, 'utf8');
const STACKS = ['staging', 'production'] as const;
const SERVICES = ['postgres', 'redis', 'auth', 'api', 'orchestrator'] as const;

/** `${VAR:-default}` → default, `${VAR}` → '': the file as Compose reads it with nothing set. */
function interpolateDefaults(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.replace(
      /\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g,
      (_m, _name: string, fallback?: string) => fallback ?? '',
    );
  }
  if (Array.isArray(value)) return value.map(interpolateDefaults);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolateDefaults(v)]));
  }
  return value;
}

interface ComposeService {
  image?: string;
  user?: string;
  command?: string[];
  environment?: Record<string, string>;
  networks: Record<string, { aliases?: string[] } | null>;
  healthcheck?: {
    test: string[];
    interval: string;
    timeout: string;
    start_period: string;
    retries: number;
  };
  volumes?: string[];
  ports?: string[];
  restart?: string;
  init?: boolean;
  stop_grace_period?: string;
  labels?: Record<string, string>;
  profiles?: string[];
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  networks: Record<string, { internal?: boolean } | null>;
}

interface RenderedContainer {
  envs?: string[];
  user?: string;
  command?: string[];
  healthcheck?: {
    tests: string[];
    interval: string;
    timeout: string;
    startPeriod: string;
    retries: number;
  };
  networksAdvanced: { name: string; aliases?: string[] }[];
  volumes?: { containerPath: string }[];
  ports?: { internal: number; external: number }[];
  restart?: string;
  init?: boolean;
  stopTimeout?: number;
  labels: { label: string; value: string }[];
}

const compose = interpolateDefaults(parse(read('docker-compose.yml'))) as ComposeFile;

/** The containers a stack declares, by their `com.quint.service` label, and its networks. */
function rendered(stack: string) {
  const doc = parse(read(`infra/rendered/${stack}.yaml`)) as {
    resources: Record<string, Record<string, { inputs: Record<string, unknown> }>>;
  };
  const containers = new Map<string, RenderedContainer>();
  const networks = new Map<string, { internal: boolean }>();
  for (const children of Object.values(doc.resources)) {
    for (const [key, resource] of Object.entries(children)) {
      if (key.includes('(docker:index/container:Container)')) {
        const inputs = resource.inputs as unknown as RenderedContainer;
        const service = inputs.labels.find((l) => l.label === 'com.quint.service')?.value;
        if (service) containers.set(service, inputs);
      }
      if (key.includes('(docker:index/network:Network)')) {
        const inputs = resource.inputs as { name: string; internal: boolean };
        networks.set(inputs.name, inputs);
      }
    }
  }
  return { containers, networks };
}

/** `quint-staging-private` → `private`: the role of a network, as compose names it. */
const role = (network: string) => network.replace(/^.*-(private|public)$/, '$1');

const seconds = (duration: string) => {
  const match = /^(\d+)(s|m)$/.exec(duration);
  if (!match) throw new Error(`unexpected duration ${duration}`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
};

describe.each(STACKS)('docker-compose.yml matches the Pulumi program (%s stack)', (stack) => {
  const { containers, networks } = rendered(stack);

  it('declares the same services', () => {
    expect([...containers.keys()].sort()).toEqual(SERVICES.filter((s) => containers.has(s)).sort());
    for (const service of containers.keys())
      expect(compose.services[service], service).toBeDefined();
  });

  it('has the same two networks, only the private one internal', () => {
    const byRole = Object.fromEntries(
      [...networks.values()].map((n) => [role((n as { name?: string }).name ?? ''), n.internal]),
    );
    const names = [...networks.keys()].map(role).sort();
    expect(names).toEqual(['private', 'public']);
    expect(Object.keys(compose.networks).sort()).toEqual(['private', 'public']);
    expect(compose.networks.private?.internal).toBe(true);
    expect(compose.networks.public?.internal ?? false).toBe(false);
    expect(byRole).toEqual({ private: true, public: false });
  });

  it.each(SERVICES)('%s: networks and aliases', (service) => {
    const container = containers.get(service);
    if (!container) return;
    const fromInfra = Object.fromEntries(
      container.networksAdvanced.map((n) => [role(n.name), n.aliases ?? []]),
    );
    const fromCompose = Object.fromEntries(
      Object.entries(compose.services[service]?.networks ?? {}).map(([name, n]) => [
        name,
        n?.aliases ?? [],
      ]),
    );
    expect(fromCompose).toEqual(fromInfra);
  });

  it.each(SERVICES)('%s: environment names, and the values that are not secrets', (service) => {
    const container = containers.get(service);
    if (!container) return;
    const ttl = /^AUTH_[A-Z]+_TOKEN_TTL_(DAYS|HOURS|MINUTES)$/;
    const infraEnv = new Map(
      (container.envs ?? []).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
    );
    const composeEnv = compose.services[service]?.environment ?? {};
    const names = (keys: Iterable<string>) => [...keys].filter((k) => !ttl.test(k)).sort();
    expect(names(Object.keys(composeEnv))).toEqual(names(infraEnv.keys()));
    // Values that must agree. Secrets and per-environment values (AUTH_ENV, AUTH_WORKERS, URLs that
    // hold passwords) differ by design.
    for (const name of ['AUTH_PORT', 'POSTGRES_DB', 'POSTGRES_USER', 'AUTH_SERVICE_URL']) {
      if (infraEnv.has(name)) expect(composeEnv[name], name).toBe(infraEnv.get(name));
    }
  });

  it.each(SERVICES)('%s: health check, user, command, data path', (service) => {
    const container = containers.get(service);
    if (!container) return;
    const mine = compose.services[service] as ComposeService;
    expect(mine.healthcheck?.test).toEqual(container.healthcheck?.tests);
    expect({
      interval: mine.healthcheck?.interval,
      timeout: mine.healthcheck?.timeout,
      startPeriod: mine.healthcheck?.start_period,
      retries: mine.healthcheck?.retries,
    }).toEqual({
      interval: container.healthcheck?.interval,
      timeout: container.healthcheck?.timeout,
      startPeriod: container.healthcheck?.startPeriod,
      retries: container.healthcheck?.retries,
    });
    expect(mine.user).toBe(container.user);
    expect(mine.command).toEqual(container.command);
    const paths = (mine.volumes ?? []).map((v) => v.split(':')[1]);
    expect(paths).toEqual((container.volumes ?? []).map((v) => v.containerPath));
  });

  it.each(SERVICES)('%s: published ports, restart policy, init, stop grace, labels', (service) => {
    const container = containers.get(service);
    if (!container) return;
    const mine = compose.services[service] as ComposeService;
    const published = (mine.ports ?? []).map((p) => Number(p.split(':').at(-1)));
    expect(published).toEqual((container.ports ?? []).map((p) => p.internal));
    expect(mine.restart).toBe(container.restart);
    expect(mine.init).toBe(container.init);
    if (container.stopTimeout !== undefined)
      expect(seconds(mine.stop_grace_period ?? '10s')).toBe(container.stopTimeout);
    expect(mine.labels?.['com.quint.service']).toBe(service);
  });
});

describe('the base images are named the same everywhere', () => {
  const builder = read('scripts/build-base-images.sh');
  const constant = (name: string) =>
    new RegExp(`^readonly ${name}=(\\S+)$`, 'm').exec(builder)?.[1];

  it('Dockerfile.auth runs on the Node image the builder makes, the current LTS', () => {
    const from = /^ARG NODE_IMAGE=(\S+)$/m.exec(read('docker/Dockerfile.auth'))?.[1];
    expect(from).toBe(constant('NODE_IMAGE'));
    expect(from).toMatch(/^node:26-/);
  });

  it('docker-compose.yml runs the Postgres and Redis images the builder makes', () => {
    expect(compose.services.postgres?.image).toBe(constant('POSTGRES_IMAGE'));
    expect(compose.services.redis?.image).toBe(constant('REDIS_IMAGE'));
  });

  it('e2e:docker checks for exactly those images', () => {
    const list = /const BASE_IMAGES = \[([^\]]*)\]/.exec(read('scripts/e2e-docker.ts'))?.[1] ?? '';
    expect(list.match(/'[^']+'/g)?.map((s) => s.slice(1, -1))).toEqual([
      constant('NODE_IMAGE'),
      constant('POSTGRES_IMAGE'),
      constant('REDIS_IMAGE'),
    ]);
  });

  it('the auth service in compose is built from docker/Dockerfile.auth with the repository as context', () => {
    const auth = parse(read('docker-compose.yml')).services.auth as {
      build: { context: string; dockerfile: string };
    };
    expect(auth.build).toMatchObject({ context: '.', dockerfile: 'docker/Dockerfile.auth' });
  });
});
