/**
 * Quint's deployment guardrails, as stack policies: each sees every resource of the stack at once,
 * because "only the API is public" or "auth is on the private network only" are statements about
 * how resources relate, not about one resource alone. `index.ts` serves them as a policy pack for
 * `pulumi preview --policy-pack infra/policy`; the tests run them against the program's resources
 * without the CLI.
 */
import type { PolicyResource, ReportViolation, StackValidationPolicy } from '@pulumi/policy';
import { LABELS, PORTS } from '../topology.js';

const CONTAINER = 'docker:index/container:Container';
const NETWORK = 'docker:index/network:Network';
const VOLUME = 'docker:index/volume:Volume';
const RANDOM_BYTES = 'random:index/randomBytes:RandomBytes';
const STACK = 'pulumi:pulumi:Stack';

/** The stacks whose data must survive any change to the program. */
export const PROTECTED_STACKS: readonly string[] = ['production'];

/** Restart policies that bring a crashed or rebooted container back. */
export const RESTART_POLICIES: readonly string[] = ['always', 'unless-stopped', 'on-failure'];

/** Environment variables that carry secrets, by name. */
export const SECRET_ENV_NAME =
  /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|MASTER_KEY|PRIVATE_KEY|API_KEY)(_|$)|DATABASE_URL$/;

/** A URL that carries a password (`scheme://user:password@host`). */
export const CREDENTIAL_URL = /[a-z][a-z0-9+.-]*:\/\/[^/\s:@]*:[^@\s/]+@/i;

/** Secrets from the local compose file and docs that must never reach a deployed stack. */
export const KNOWN_DEV_SECRETS: readonly string[] = [
  'local-dev-master-key-do-not-use-in-prod',
  'quint_local_dev',
];

/** The parts of a resource the policies read; `PolicyResource` has them all. */
export type GuardedResource = Pick<PolicyResource, 'type' | 'name' | 'urn' | 'props'> & {
  readonly opts: Pick<PolicyResource['opts'], 'protect' | 'additionalSecretOutputs'>;
};

type Report = ReportViolation;

/** The stack a resource belongs to, from its URN (`urn:pulumi:<stack>::<project>::…`). */
export function stackOf(resource: GuardedResource): string {
  return resource.urn.split('::')[0]?.split(':')[2] ?? '';
}

/** The service a container runs, from its `com.quint.service` label. */
export function serviceOf(container: GuardedResource): string | undefined {
  const labels = (container.props['labels'] ?? []) as { label?: string; value?: string }[];
  return labels.find((l) => l.label === LABELS.service)?.value;
}

function containers(resources: readonly GuardedResource[]): GuardedResource[] {
  return resources.filter((r) => r.type === CONTAINER);
}

function envEntries(container: GuardedResource): { name: string; value: string }[] {
  const envs = (container.props['envs'] ?? []) as unknown[];
  return envs
    .filter((e): e is string => typeof e === 'string')
    .map((e) => {
      const at = e.indexOf('=');
      return at < 0 ? { name: e, value: '' } : { name: e.slice(0, at), value: e.slice(at + 1) };
    });
}

function describe(container: GuardedResource): string {
  const service = serviceOf(container);
  return service === undefined
    ? `container ${container.name}`
    : `${service} container ${container.name}`;
}

/** Only the API publishes a port, and only its own (8000 inside the container). */
export const onlyApiPublishesPorts: StackValidationPolicy = {
  name: 'only-api-publishes-ports',
  description: 'Only the API container publishes a port on the Docker host, and only port 8000.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report: Report) => {
    for (const container of containers(resources)) {
      const ports = (container.props['ports'] ?? []) as { internal?: number }[];
      const publishesAll = container.props['publishAllPorts'] === true;
      const hostNetwork = container.props['networkMode'] === 'host';
      if (serviceOf(container) === 'api') {
        const stray = ports.filter((p) => p.internal !== PORTS.api);
        if (stray.length > 0 || publishesAll || hostNetwork) {
          report(`${describe(container)} may publish only port ${PORTS.api}`, container.urn);
        }
        continue;
      }
      if (ports.length > 0 || publishesAll || hostNetwork) {
        report(
          `${describe(container)} publishes a port on the host; only the API may (reach private services over the private network)`,
          container.urn,
        );
      }
    }
  },
};

/** Auth, Postgres, Redis and the orchestrator join internal networks only; the API joins both. */
export const privateServicesStayPrivate: StackValidationPolicy = {
  name: 'private-services-stay-private',
  description:
    'Every container but the API joins only internal networks; the API joins one internal and one public network.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report: Report) => {
    const internalByName = new Map<string, boolean>();
    for (const network of resources.filter((r) => r.type === NETWORK)) {
      internalByName.set(String(network.props['name']), network.props['internal'] === true);
    }
    for (const container of containers(resources)) {
      const mode = container.props['networkMode'] as string | undefined;
      if (mode !== undefined && mode !== 'bridge' && mode !== 'default') {
        report(
          `${describe(container)} uses network mode "${mode}"; attach it to the stack's networks`,
          container.urn,
        );
        continue;
      }
      const attached = ((container.props['networksAdvanced'] ?? []) as { name?: string }[]).map(
        (n) => String(n.name),
      );
      const unknown = attached.filter((name) => !internalByName.has(name));
      if (unknown.length > 0) {
        report(
          `${describe(container)} joins ${unknown.join(', ')}, which this stack does not declare, so its isolation cannot be checked`,
          container.urn,
        );
        continue;
      }
      const publicNetworks = attached.filter((name) => internalByName.get(name) === false);
      const privateNetworks = attached.filter((name) => internalByName.get(name) === true);
      if (serviceOf(container) === 'api') {
        if (privateNetworks.length === 0 || publicNetworks.length === 0) {
          report(
            `${describe(container)} must join the private network and the public one`,
            container.urn,
          );
        }
      } else if (publicNetworks.length > 0 || privateNetworks.length === 0) {
        report(
          `${describe(container)} must join the private (internal) network only, not ${publicNetworks.join(', ') || 'no network'}`,
          container.urn,
        );
      }
    }
  },
};

/** No secret reaches state, `docker inspect`-visible fields or stack outputs in plain text. */
export const noPlaintextSecrets: StackValidationPolicy = {
  name: 'no-plaintext-secrets',
  description:
    'Containers holding secrets in their environment keep it secret in state; secrets never appear in commands, labels, health checks or stack outputs; development secrets never deploy.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report: Report) => {
    const secretValues = new Set<string>();
    for (const container of containers(resources)) {
      const secretEnv = envEntries(container).filter(
        (e) => SECRET_ENV_NAME.test(e.name) || CREDENTIAL_URL.test(e.value),
      );
      for (const e of secretEnv) if (e.value.length >= 8) secretValues.add(e.value);
      if (secretEnv.length > 0 && !container.opts.additionalSecretOutputs.includes('envs')) {
        report(
          `${describe(container)} has secrets in its environment (${secretEnv.map((e) => e.name).join(', ')}) but does not keep "envs" secret: add additionalSecretOutputs: ["envs"] and pass the values as pulumi.secret`,
          container.urn,
        );
      }
    }
    for (const resource of resources) {
      for (const [property, value] of Object.entries(resource.props)) {
        const inEnv = resource.type === CONTAINER && property === 'envs';
        for (const text of strings(value)) {
          const dev = KNOWN_DEV_SECRETS.find((s) => text.includes(s));
          if (dev !== undefined) {
            report(
              `${resource.name}.${property} contains the development secret "${dev}"`,
              resource.urn,
            );
          }
          if (inEnv) continue;
          if (CREDENTIAL_URL.test(text) || [...secretValues].some((s) => text.includes(s))) {
            const where =
              resource.type === STACK ? `stack output ${property}` : `${resource.name}.${property}`;
            report(`${where} contains a secret in plain text`, resource.urn);
          }
        }
      }
    }
  },
};

/** Every container is supervised: health check, restart policy, non-root user. */
export const containersAreSupervised: StackValidationPolicy = {
  name: 'containers-are-supervised',
  description: 'Every container has a health check, a restart policy and runs as a non-root user.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report: Report) => {
    for (const container of containers(resources)) {
      const tests = ((container.props['healthcheck'] as { tests?: string[] } | undefined)?.tests ??
        []) as string[];
      if (tests.length < 2 || !['CMD', 'CMD-SHELL'].includes(tests[0] ?? '')) {
        report(`${describe(container)} has no health check`, container.urn);
      }
      const restart = container.props['restart'] as string | undefined;
      if (restart === undefined || !RESTART_POLICIES.includes(restart)) {
        report(
          `${describe(container)} has restart policy "${restart ?? 'no'}"; use one of ${RESTART_POLICIES.join(', ')}`,
          container.urn,
        );
      }
      const user = container.props['user'] as string | undefined;
      if (user === undefined || user.trim() === '' || /^(root|0)(:|$)/.test(user.trim())) {
        report(
          `${describe(container)} runs as ${user ? `"${user}"` : "the image's default user"}; name a non-root user`,
          container.urn,
        );
      }
    }
  },
};

/** Production volumes, and any generated master key, cannot be deleted or replaced by a deploy. */
export const dataIsProtected: StackValidationPolicy = {
  name: 'data-is-protected',
  description:
    'Data volumes are protected in production; a generated AUTH_MASTER_KEY is protected in every stack.',
  enforcementLevel: 'mandatory',
  validateStack: ({ resources }, report: Report) => {
    for (const resource of resources) {
      if (
        resource.type === VOLUME &&
        PROTECTED_STACKS.includes(stackOf(resource)) &&
        !resource.opts.protect
      ) {
        report(
          `volume ${resource.name} holds ${stackOf(resource)} data and must be protected`,
          resource.urn,
        );
      }
      if (resource.type === RANDOM_BYTES && !resource.opts.protect) {
        report(
          `${resource.name} generates key material (AUTH_MASTER_KEY); a new one would make every stored private key unreadable, so it must be protected`,
          resource.urn,
        );
      }
    }
  },
};

/** Every policy of the pack, in the order violations are reported. */
export const policies: readonly StackValidationPolicy[] = [
  onlyApiPublishesPorts,
  privateServicesStayPrivate,
  noPlaintextSecrets,
  containersAreSupervised,
  dataIsProtected,
];

function* strings(value: unknown): Generator<string> {
  if (typeof value === 'string') yield value;
  else if (Array.isArray(value)) for (const v of value) yield* strings(v);
  else if (typeof value === 'object' && value !== null)
    for (const v of Object.values(value)) yield* strings(v);
}
