/**
 * The auth service: its image (built from `docker/Dockerfile.auth`, or an earlier build for a
 * rollback), its secrets, and its container on the private network under the alias `auth`.
 *
 * A replacement never drops traffic: the container has no fixed name and no host port, so Pulumi
 * creates the new one first, waits until Docker reports it healthy, and only then stops the old
 * one. While both run, the alias `auth` resolves to both.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import {
  ALIASES,
  AUTH_HEALTHCHECK,
  AUTH_IMAGE_USER,
  AUTH_SERVICE_URL,
  PORTS,
  serviceLabels,
} from '../topology.js';

/** Where `AUTH_MASTER_KEY` comes from: the stack's secret config, or generated once here. */
export type MasterKey =
  | { readonly kind: 'config'; readonly value: pulumi.Output<string> }
  | { readonly kind: 'generate' };

/** How to obtain the image: build it on the Docker host, or run one built before. */
export type AuthImage =
  | {
      readonly kind: 'build';
      readonly context: string;
      readonly dockerfile: string;
      readonly imageName: string;
    }
  | { readonly kind: 'prebuilt'; readonly reference: string };

/** Arguments of `AuthService`. */
export interface AuthServiceArgs {
  /** `AUTH_ENV`: the stack's name. */
  readonly environment: 'staging' | 'production';
  readonly image: AuthImage;
  /** The private network's name; the auth service joins no other. */
  readonly privateNetworkName: pulumi.Input<string>;
  /** Postgres URL; must be a secret (it holds a password). */
  readonly databaseUrl: pulumi.Output<string>;
  /** Redis URL; may hold a password, so it is passed on as a secret. */
  readonly redisUrl: pulumi.Input<string>;
  /** `AUTH_MASTER_KEY` from the stack's secret config, or `generate` to create one once. */
  readonly masterKey: MasterKey;
  /** `AUTH_WORKERS`. */
  readonly workers: number;
  /** Optional `AUTH_*_TTL_*` overrides, by variable name. */
  readonly tokenTtls?: Readonly<Record<string, number>>;
}

/** The auth service of one stack. */
export class AuthService extends pulumi.ComponentResource {
  /** Where the API and orchestrator reach it: `http://auth:8001`, private network only. */
  readonly url: pulumi.Output<string>;
  /** The image the container runs, pinned by content digest (`sha256:…`). */
  readonly imageDigest: pulumi.Output<string>;

  constructor(name: string, args: AuthServiceArgs, opts?: pulumi.ComponentResourceOptions) {
    super('quint:infra:AuthService', name, {}, opts);
    if (!Number.isInteger(args.workers) || args.workers < 1) {
      throw new Error(
        `AuthService ${name}: workers must be a positive integer, got ${args.workers}`,
      );
    }
    for (const variable of Object.keys(args.tokenTtls ?? {})) {
      if (!/^AUTH_[A-Z]+_TOKEN_TTL_(DAYS|HOURS|MINUTES)$/.test(variable)) {
        throw new Error(`AuthService ${name}: ${variable} is not a token lifetime variable`);
      }
    }

    this.imageDigest = this.image(name, args.image);
    const masterKey = this.masterKey(name, args.masterKey);
    const adminToken = new random.RandomPassword(
      `${name}-admin-token`,
      { length: 48, special: false },
      { parent: this },
    );

    const plain = (variable: string, value: string | number) => `${variable}=${value}`;
    const secret = (variable: string, value: pulumi.Input<string>) =>
      pulumi.secret(pulumi.interpolate`${variable}=${value}`);

    new docker.Container(
      `${name}-container`,
      {
        image: this.imageDigest,
        user: AUTH_IMAGE_USER,
        envs: [
          plain('AUTH_ENV', args.environment),
          plain('AUTH_PORT', PORTS.auth),
          plain('AUTH_WORKERS', args.workers),
          ...Object.entries(args.tokenTtls ?? {}).map(([variable, value]) =>
            plain(variable, value),
          ),
          secret('AUTH_DATABASE_URL', args.databaseUrl),
          secret('REDIS_URL', args.redisUrl),
          secret('AUTH_MASTER_KEY', masterKey),
          secret('AUTH_ADMIN_TOKEN', adminToken.result),
        ],
        networksAdvanced: [{ name: args.privateNetworkName, aliases: [ALIASES.auth] }],
        healthcheck: {
          tests: [...AUTH_HEALTHCHECK],
          interval: '10s',
          timeout: '3s',
          startPeriod: '30s',
          retries: 3,
        },
        // Pulumi waits for "healthy" before it deletes the container this one replaces.
        wait: true,
        waitTimeout: 180,
        restart: 'unless-stopped',
        init: true,
        // SIGTERM first, so the old container finishes in-flight requests while the new one serves.
        destroyGraceSeconds: 30,
        stopTimeout: 30,
        labels: serviceLabels('auth', args.environment),
      },
      {
        parent: this,
        // Create the replacement before deleting the old container (Pulumi's default, stated
        // here because the zero-downtime deploy depends on it).
        deleteBeforeReplace: false,
        // The provider treats `envs` as a set and may hand it back reordered, so secrecy marked
        // on single entries could land on the wrong ones: keep the whole list secret in state.
        additionalSecretOutputs: ['envs'],
      },
    );

    this.url = pulumi.output(AUTH_SERVICE_URL);
    this.registerOutputs({ url: this.url, imageDigest: this.imageDigest });
  }

  private image(name: string, image: AuthImage): pulumi.Output<string> {
    if (image.kind === 'prebuilt') {
      // keepLocally: removing this resource later must not delete an image a rollback may need.
      const prebuilt = new docker.RemoteImage(
        `${name}-image`,
        { name: image.reference, keepLocally: true },
        { parent: this },
      );
      return prebuilt.imageId;
    }
    const built = new docker.Image(
      `${name}-image`,
      {
        build: { context: image.context, dockerfile: image.dockerfile },
        imageName: image.imageName,
        // Built on the stack's Docker host and run there; there is no registry in between.
        skipPush: true,
      },
      { parent: this },
    );
    // For a local build `repoDigest` is the image ID: the container is pinned to this exact build.
    return built.repoDigest;
  }

  private masterKey(name: string, source: MasterKey): pulumi.Output<string> {
    if (source.kind === 'config') return pulumi.secret(source.value);
    // Generated once and protected: a new master key would make every stored private key
    // unreadable, so Pulumi must refuse to replace or delete this resource.
    const generated = new random.RandomBytes(
      `${name}-master-key`,
      { length: 32 },
      { parent: this, protect: true, retainOnDelete: true },
    );
    return pulumi.secret(generated.base64);
  }
}
