/**
 * The one place the Pulumi program reads its configuration. `parseStackConfig` turns the stack's
 * raw key/value configuration into a frozen, typed `StackConfig` and reports every problem at
 * once, each naming its key; `loadStackConfig` feeds it from the running Pulumi stack. Secret
 * values leave this module only as Pulumi secrets.
 */
import * as pulumi from '@pulumi/pulumi';
import type { AuthImage, MasterKey } from './components/auth-service.js';
import { PORTS } from './topology.js';

/** The config namespace: the project name in `Pulumi.yaml`. */
export const PROJECT = 'quint';

/** Stacks this program deploys; each is also the auth service's `AUTH_ENV`. */
export const STACKS = ['staging', 'production'] as const;
export type StackName = (typeof STACKS)[number];

/** Contract section 3's optional token lifetimes, by config key. */
export const TOKEN_TTL_KEYS = Object.freeze({
  authAppTokenTtlDays: 'AUTH_APP_TOKEN_TTL_DAYS',
  authBearerTokenTtlDays: 'AUTH_BEARER_TOKEN_TTL_DAYS',
  authAgentTokenTtlHours: 'AUTH_AGENT_TOKEN_TTL_HOURS',
  authSubagentTokenTtlHours: 'AUTH_SUBAGENT_TOKEN_TTL_HOURS',
  authSessionTokenTtlMinutes: 'AUTH_SESSION_TOKEN_TTL_MINUTES',
  authOverrideTokenTtlMinutes: 'AUTH_OVERRIDE_TOKEN_TTL_MINUTES',
} as const);

/** Every `quint:*` key this program understands; anything else is a typo and is refused. */
export const KNOWN_KEYS = Object.freeze([
  'apiImage',
  'apiPublicPort',
  'apiHealthcheck',
  'apiUser',
  'orchestratorImage',
  'orchestratorHealthcheck',
  'orchestratorUser',
  'authImage',
  'release',
  'authWorkers',
  'authMasterKey',
  'generateAuthMasterKey',
  'postgres',
  'postgresUrl',
  'postgresImage',
  'redis',
  'redisUrl',
  'redisImage',
  'protectData',
  ...Object.keys(TOKEN_TTL_KEYS),
]);

/** Keys whose values are secrets: read only from `pulumi config set --secret`, never printed. */
export const SECRET_KEYS = Object.freeze(['authMasterKey', 'postgresUrl', 'redisUrl']);

/** Defaults for the data stores, overridable per stack. */
export const DEFAULT_IMAGES = Object.freeze({
  postgres: 'postgres:17-trixie',
  redis: 'redis:8-trixie',
});

/** Where `docker/Dockerfile.auth` lives, relative to the project root (the build context). */
export const AUTH_BUILD = Object.freeze({
  context: '.',
  dockerfile: 'docker/Dockerfile.auth',
  repository: 'quint-auth',
});

/** User the API and orchestrator run as unless the stack names another (never root). */
export const DEFAULT_SERVICE_USER = '10001:10001';

/**
 * Health probe for the API and orchestrator images (built elsewhere, on Python). A stack whose
 * images ship another probe sets `quint:apiHealthcheck` / `quint:orchestratorHealthcheck`.
 */
export function defaultHealthcheck(port: number): string[] {
  return [
    'CMD',
    'python',
    '-c',
    `import urllib.request; urllib.request.urlopen('http://127.0.0.1:${port}/health', timeout=3)`,
  ];
}

/** How the auth image is obtained: built from the Dockerfile, or an already-built one (rollback). */
export type AuthImageSource = AuthImage;

/** Where `AUTH_MASTER_KEY` comes from: the stack's secret config, or generated once. */
export type MasterKeySource = MasterKey;

/** A data store run as a container on the private network, or an external (managed) one. */
export type DataStore =
  | { readonly kind: 'container'; readonly image: string }
  | { readonly kind: 'external'; readonly url: pulumi.Output<string> };

/** Everything the program needs to know about one stack, validated. */
export interface StackConfig {
  readonly stack: StackName;
  /** `docker:host`, e.g. `ssh://deploy@host`; the Docker provider reads it, we only check it. */
  readonly dockerHost: string;
  /** Protect data volumes and refuse their deletion; always true in production. */
  readonly protectData: boolean;
  readonly postgres: DataStore;
  readonly redis: DataStore;
  readonly auth: {
    readonly image: AuthImageSource;
    readonly workers: number;
    readonly masterKey: MasterKeySource;
    /** Optional token lifetimes, by environment variable name. */
    readonly tokenTtls: Readonly<Record<string, number>>;
  };
  readonly api: {
    readonly image: string;
    readonly publicPort: number;
    readonly healthcheck: readonly string[];
    readonly user: string;
  };
  readonly orchestrator: {
    readonly image: string;
    readonly healthcheck: readonly string[];
    readonly user: string;
  };
}

/** One problem with one configuration key. */
export interface ConfigProblem {
  /** The full key, e.g. `quint:apiImage` or `docker:host`. */
  readonly key: string;
  readonly message: string;
}

/**
 * The stack's configuration is unusable. The message lists every problem, one per line, each
 * starting with its key; a `RunError` so Pulumi prints it without a stack trace.
 */
export class StackConfigError extends pulumi.RunError {
  readonly code = 'INFRA_CONFIG_INVALID';
  readonly problems: readonly ConfigProblem[];

  constructor(stack: string, problems: readonly ConfigProblem[]) {
    super(
      `stack "${stack}" has invalid configuration:\n` +
        problems.map((p) => `  ${p.key}: ${p.message}`).join('\n'),
    );
    this.name = 'StackConfigError';
    this.problems = problems;
  }
}

/** Raw configuration as Pulumi holds it: full keys (`quint:apiImage`) to string values. */
export type RawConfig = Readonly<Record<string, string | undefined>>;

const IMAGE_REFERENCE =
  /^(?:[a-z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*(?::([\w][\w.-]{0,127}))?(?:@sha256:[a-f0-9]{64})?$/;
const LOCAL_IMAGE_ID = /^sha256:[a-f0-9]{64}$/;
const DOCKER_TAG = /^[\w][\w.-]{0,127}$/;
const CONTAINER_USER = /^[a-z_][a-z0-9_-]*(?::[a-z_][a-z0-9_-]*)?$|^\d+(?::\d+)?$/;

/** Reads and validates raw configuration; throws `StackConfigError` listing every problem. */
export function parseStackConfig(stackName: string, raw: RawConfig): StackConfig {
  const problems: ConfigProblem[] = [];
  const problem = (key: string, message: string): void => {
    problems.push({ key: key.includes(':') ? key : `${PROJECT}:${key}`, message });
  };
  const get = (key: string): string | undefined => {
    const value = raw[`${PROJECT}:${key}`];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };

  for (const fullKey of Object.keys(raw)) {
    if (
      fullKey.startsWith(`${PROJECT}:`) &&
      !KNOWN_KEYS.includes(fullKey.slice(PROJECT.length + 1))
    ) {
      problem(
        fullKey,
        `unknown key; known keys are ${KNOWN_KEYS.join(', ')} (see infra/README.md)`,
      );
    }
  }

  const isStack = (STACKS as readonly string[]).includes(stackName);
  if (!isStack) {
    problems.push({
      key: 'stack',
      message: `"${stackName}" is not a stack this program deploys; use one of ${STACKS.join(', ')}`,
    });
  }
  const stack = (isStack ? stackName : 'staging') as StackName;
  const production = stack === 'production';

  const dockerHost = raw['docker:host']?.trim() ?? '';
  if (dockerHost === '') {
    problem('docker:host', 'required: the Docker host to deploy to, e.g. ssh://deploy@host');
  } else if (!/^(ssh|tcp|unix|npipe):\/\/\S+$/.test(dockerHost)) {
    problem('docker:host', 'must be a Docker host URL such as ssh://deploy@host');
  }

  const bool = (key: string, fallback: boolean): boolean => {
    const value = get(key);
    if (value === undefined) return fallback;
    if (value !== 'true' && value !== 'false') {
      problem(key, `must be true or false, not "${value}"`);
      return fallback;
    }
    return value === 'true';
  };
  const int = (key: string, fallback: number | undefined, min: number, max: number) => {
    const value = get(key);
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min || n > max) {
      problem(key, `must be a whole number from ${min} to ${max}, not "${value}"`);
      return fallback;
    }
    return n;
  };
  const image = (key: string, fallback?: string): string => {
    const value = get(key) ?? fallback;
    if (value === undefined) {
      problem(
        key,
        'required: an image reference with a tag or digest, e.g. ghcr.io/quint/api:1.4.2',
      );
      return '';
    }
    const match = IMAGE_REFERENCE.exec(value);
    if (match === null) {
      problem(key, `"${value}" is not an image reference`);
    } else if (match[1] === undefined && !value.includes('@sha256:')) {
      problem(key, `"${value}" has no tag or digest; pin the version deployed`);
    } else if (match[1] === 'latest') {
      problem(key, `"${value}" uses the moving tag "latest"; pin the version deployed`);
    }
    return value;
  };
  const command = (key: string, fallback: string[]): readonly string[] => {
    const value = get(key);
    if (value === undefined) return fallback;
    try {
      const parsed: unknown = JSON.parse(value);
      if (
        Array.isArray(parsed) &&
        parsed.length >= 2 &&
        parsed.every((part) => typeof part === 'string') &&
        ['CMD', 'CMD-SHELL'].includes(parsed[0] as string)
      ) {
        return parsed as string[];
      }
    } catch {
      // reported below
    }
    problem(key, 'must be a list starting with CMD or CMD-SHELL, e.g. ["CMD", "probe"]');
    return fallback;
  };
  const user = (key: string): string => {
    const value = get(key) ?? DEFAULT_SERVICE_USER;
    if (!CONTAINER_USER.test(value) || /^(root|0)(:|$)/.test(value)) {
      problem(key, `must name a non-root user such as ${DEFAULT_SERVICE_USER}, not "${value}"`);
    }
    return value;
  };
  const dataStore = (
    kind: 'postgres' | 'redis',
    schemes: readonly string[],
    example: string,
  ): DataStore => {
    const mode = get(kind) ?? 'container';
    const urlKey = `${kind}Url`;
    const url = get(urlKey);
    if (mode === 'container') {
      if (url !== undefined) {
        problem(
          urlKey,
          `is set but ${PROJECT}:${kind} is "container"; set ${PROJECT}:${kind} to "external" to use it`,
        );
      }
      return { kind: 'container', image: image(`${kind}Image`, DEFAULT_IMAGES[kind]) };
    }
    if (mode !== 'external') {
      problem(kind, `must be "container" or "external", not "${mode}"`);
      return { kind: 'container', image: DEFAULT_IMAGES[kind] };
    }
    if (url === undefined) {
      problem(
        urlKey,
        `required when ${PROJECT}:${kind} is "external": pulumi config set --secret ${PROJECT}:${urlKey} '${example}'`,
      );
    } else if (!schemes.some((scheme) => url.startsWith(`${scheme}://`))) {
      problem(urlKey, `must start with ${schemes.map((s) => `${s}://`).join(' or ')}`);
    }
    return { kind: 'external', url: pulumi.secret(url ?? '') };
  };

  const postgres = dataStore(
    'postgres',
    ['postgres', 'postgresql', 'postgresql+asyncpg'],
    'postgres://user:password@db.example:5432/quint',
  );
  const redis = dataStore('redis', ['redis', 'rediss'], 'rediss://:password@cache.example:6379/0');

  const protectData = bool('protectData', production);
  if (production && !protectData) {
    problem('protectData', 'cannot be false in production: its data volumes are always protected');
  }

  const masterKey = ((): MasterKeySource => {
    const generate = bool('generateAuthMasterKey', false);
    const value = get('authMasterKey');
    const command = `pulumi config set --secret ${PROJECT}:authMasterKey --stack ${stack} "$(openssl rand -base64 32)"`;
    if (value !== undefined) {
      if (generate) {
        problem(
          'generateAuthMasterKey',
          `cannot be true while ${PROJECT}:authMasterKey is set; keep one source of the key`,
        );
      }
      if (!isMasterKey(value)) {
        // Never echo the value: it is a secret even when it is malformed.
        problem(
          'authMasterKey',
          `must be 32 random bytes in base64 or hex; generate one with: ${command}`,
        );
      }
      return { kind: 'config', value: pulumi.secret(value) };
    }
    if (production) {
      problem(
        'authMasterKey',
        `required in production (a generated key would be lost with the stack): ${command}`,
      );
    } else if (!generate) {
      problem(
        'authMasterKey',
        `required unless ${PROJECT}:generateAuthMasterKey is true: ${command}`,
      );
    }
    return { kind: 'generate' };
  })();

  const authImage = ((): AuthImageSource => {
    const reference = get('authImage');
    if (reference !== undefined) {
      if (!LOCAL_IMAGE_ID.test(reference)) image('authImage');
      return { kind: 'prebuilt', reference };
    }
    const release = get('release') ?? 'manual';
    if (!DOCKER_TAG.test(release)) {
      problem(
        'release',
        `must be usable as an image tag (letters, digits, ".", "_", "-"), not "${release}"`,
      );
    }
    return {
      kind: 'build',
      context: AUTH_BUILD.context,
      dockerfile: AUTH_BUILD.dockerfile,
      imageName: `${AUTH_BUILD.repository}:${release}`,
    };
  })();

  const tokenTtls: Record<string, number> = {};
  for (const [key, envName] of Object.entries(TOKEN_TTL_KEYS)) {
    const value = int(key, undefined, 1, 100_000);
    if (value !== undefined) tokenTtls[envName] = value;
  }

  const config: StackConfig = {
    stack,
    dockerHost,
    protectData,
    postgres,
    redis,
    auth: {
      image: authImage,
      workers: int('authWorkers', 2, 1, 64) ?? 2,
      masterKey,
      tokenTtls: Object.freeze(tokenTtls),
    },
    api: {
      image: image('apiImage'),
      publicPort: int('apiPublicPort', PORTS.api, 1, 65_535) ?? PORTS.api,
      healthcheck: command('apiHealthcheck', defaultHealthcheck(PORTS.api)),
      user: user('apiUser'),
    },
    orchestrator: {
      image: image('orchestratorImage'),
      healthcheck: command('orchestratorHealthcheck', defaultHealthcheck(PORTS.orchestrator)),
      user: user('orchestratorUser'),
    },
  };

  if (problems.length > 0) throw new StackConfigError(stackName, problems);
  return deepFreeze(config);
}

/** True for 32 bytes written as base64 (standard or URL-safe) or as hex. */
export function isMasterKey(value: string): boolean {
  if (/^[0-9a-fA-F]{64}$/.test(value)) return true;
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(value)) return false;
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64').length === 32;
}

/** The running stack's configuration, validated. Call once, from `infra/index.ts`. */
export function loadStackConfig(): StackConfig {
  return parseStackConfig(pulumi.getStack(), pulumi.runtime.allConfig());
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !pulumi.Output.isInstance(value)) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
