/**
 * The fixed facts of Quint's architecture that the Pulumi program, the policy pack, the local
 * compose file and the pipeline must agree on: ports, DNS aliases, database names, health checks
 * and the labels that say which service a container runs. Import them rather than repeating them.
 *
 *   internet ──▶ api :8000 ──▶ auth :8001 ──▶ postgres :5432
 *                   │    (private)  │    └──▶ redis :6379
 *                   └──▶ orchestrator :8002 ──▶ auth
 */

/** The services of one stack, each one component in `infra/components/`. */
export const SERVICES = ['postgres', 'redis', 'auth', 'api', 'orchestrator'] as const;
export type ServiceName = (typeof SERVICES)[number];

/** Port each service listens on inside its container. Only the API's is published on the host. */
export const PORTS = Object.freeze({
  postgres: 5432,
  redis: 6379,
  auth: 8001,
  api: 8000,
  orchestrator: 8002,
} satisfies Record<ServiceName, number>);

/** DNS name of each service on the private network (a Docker network alias). */
export const ALIASES = Object.freeze({
  postgres: 'postgres',
  redis: 'redis',
  auth: 'auth',
  api: 'api',
  orchestrator: 'orchestrator',
} satisfies Record<ServiceName, string>);

/** Postgres database and role the auth service uses (the platform's existing names). */
export const DATABASE = Object.freeze({ name: 'quint', user: 'quint' });

/** Where the API and orchestrator find the auth service, over the private network. */
export const AUTH_SERVICE_URL = `http://${ALIASES.auth}:${PORTS.auth}`;

/** The user `docker/Dockerfile.auth` creates; the container is started as it explicitly. */
export const AUTH_IMAGE_USER = '10001:10001';

/** The auth image's health probe: exits 0 iff `GET /health` on `AUTH_PORT` answers 200. */
export const AUTH_HEALTHCHECK = Object.freeze([
  'CMD',
  'node',
  '/app/dist/scripts/healthcheck.js',
] as const);

/** The smoke test shipped in the auth image; the deploy pipeline runs it against `AUTH_SERVICE_URL`. */
export const AUTH_SMOKE_COMMAND = Object.freeze(['node', '/app/dist/scripts/smoke.js'] as const);

/** Labels on every container, so operators, policies and the pipeline can tell them apart. */
export const LABELS = Object.freeze({
  service: 'com.quint.service',
  stack: 'com.quint.stack',
});

/** The labels that tie a container to its service and stack. */
export function serviceLabels(
  service: ServiceName,
  stack: string,
): { label: string; value: string }[] {
  return [
    { label: LABELS.service, value: service },
    { label: LABELS.stack, value: stack },
  ];
}

/** Prefix of a stack's Docker resource names, so several stacks can share one Docker host. */
export function stackPrefix(stack: string): string {
  return `quint-${stack}`;
}

/** A named Docker resource of a stack on its host, e.g. `quint-production-postgres-data`. */
export function hostResourceName(stack: string, suffix: string): string {
  return `${stackPrefix(stack)}-${suffix}`;
}
