/**
 * Quint on one Docker host, per stack (`staging`, `production`):
 *
 *   internet ──▶ api :8000 ─┬─▶ auth :8001 ─┬─▶ postgres :5432  (or a managed Postgres)
 *     (public network)      │               └─▶ redis :6379     (or a managed Redis)
 *                           └─▶ orchestrator :8002 ──▶ auth
 *               └──────────────── private network (internal) ────────────────┘
 *
 * Configuration is read once, in `config.ts`; each box is a component in `components/`.
 */
import { Api } from './components/api.js';
import { AuthService } from './components/auth-service.js';
import { Network } from './components/network.js';
import { Orchestrator } from './components/orchestrator.js';
import { Postgres } from './components/postgres.js';
import { Redis } from './components/redis.js';
import { loadStackConfig } from './config.js';
import { hostResourceName, stackPrefix } from './topology.js';

const config = loadStackConfig();
const { stack } = config;

const network = new Network('network', { namePrefix: stackPrefix(stack) });

const databaseUrl =
  config.postgres.kind === 'external'
    ? config.postgres.url
    : new Postgres('postgres', {
        image: config.postgres.image,
        privateNetworkName: network.privateNetworkName,
        volumeName: hostResourceName(stack, 'postgres-data'),
        protectData: config.protectData,
        stack,
      }).url;

const redisUrl =
  config.redis.kind === 'external'
    ? config.redis.url
    : new Redis('redis', {
        image: config.redis.image,
        privateNetworkName: network.privateNetworkName,
        volumeName: hostResourceName(stack, 'redis-data'),
        protectData: config.protectData,
        stack,
      }).url;

const auth = new AuthService('auth', {
  environment: stack,
  image: config.auth.image,
  privateNetworkName: network.privateNetworkName,
  databaseUrl,
  redisUrl,
  masterKey: config.auth.masterKey,
  workers: config.auth.workers,
  tokenTtls: config.auth.tokenTtls,
});

const api = new Api('api', {
  image: config.api.image,
  privateNetworkName: network.privateNetworkName,
  publicNetworkName: network.publicNetworkName,
  authServiceUrl: auth.url,
  publicPort: config.api.publicPort,
  healthcheck: config.api.healthcheck,
  user: config.api.user,
  stack,
});

new Orchestrator('orchestrator', {
  image: config.orchestrator.image,
  privateNetworkName: network.privateNetworkName,
  authServiceUrl: auth.url,
  healthcheck: config.orchestrator.healthcheck,
  user: config.orchestrator.user,
  stack,
});

// Stack outputs: what the pipeline and operators need, and no secret.
/** The Docker host deployed to (`docker:host`). */
export const dockerHost = config.dockerHost;
/** The internal network; the smoke test attaches a container to it to reach `authUrl`. */
export const privateNetwork = network.privateNetworkName;
/** The auth service's address on the private network. */
export const authUrl = auth.url;
/** The image the auth container runs, by content digest: the value a rollback redeploys. */
export const authImage = auth.imageDigest;
/** The host port the API is published on. */
export const apiPort = api.publicPort;
