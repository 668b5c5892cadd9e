/**
 * Postgres on the private network, with its data on a named volume. It generates its own
 * password and hands the auth service a connection URL that is a Pulumi secret.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';
import { ALIASES, DATABASE, PORTS, serviceLabels } from '../topology.js';

/** Arguments of `Postgres`. */
export interface PostgresArgs {
  /** Image reference, e.g. `postgres:17-trixie`. */
  readonly image: string;
  /** The private network's name; Postgres joins no other. */
  readonly privateNetworkName: pulumi.Input<string>;
  /** Name of the data volume on the host. */
  readonly volumeName: string;
  /** Protect the volume from deletion and keep it if the stack is destroyed. */
  readonly protectData: boolean;
  /** Stack name, for the container's labels. */
  readonly stack: string;
}

/** The stack's Postgres server. */
export class Postgres extends pulumi.ComponentResource {
  /** `postgres://quint:<password>@postgres:5432/quint`, as a secret. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: PostgresArgs, opts?: pulumi.ComponentResourceOptions) {
    super('quint:infra:Postgres', name, {}, opts);
    if (args.image === '' || args.volumeName === '') {
      throw new Error(`Postgres ${name}: image and volumeName are required`);
    }

    // Letters and digits only: the password goes into a URL unescaped. Postgres keeps the
    // password it was initialised with, so a regenerated one would lock the auth service out:
    // protected together with the data.
    const password = new random.RandomPassword(
      `${name}-password`,
      { length: 32, special: false },
      { parent: this, protect: args.protectData },
    );
    const secretPassword = pulumi.secret(password.result);

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.image, keepLocally: true },
      { parent: this },
    );
    const volume = new docker.Volume(
      `${name}-data`,
      { name: args.volumeName },
      { parent: this, protect: args.protectData, retainOnDelete: args.protectData },
    );

    new docker.Container(
      `${name}-container`,
      {
        image: image.imageId,
        // The official image runs as root only to chown its data directory; the volume is
        // initialised from the image, already owned by postgres, so it can start as postgres.
        user: 'postgres',
        envs: [
          `POSTGRES_DB=${DATABASE.name}`,
          `POSTGRES_USER=${DATABASE.user}`,
          pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${secretPassword}`),
        ],
        volumes: [{ volumeName: volume.name, containerPath: '/var/lib/postgresql/data' }],
        networksAdvanced: [{ name: args.privateNetworkName, aliases: [ALIASES.postgres] }],
        healthcheck: {
          tests: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', DATABASE.user, '-d', DATABASE.name],
          interval: '10s',
          timeout: '5s',
          startPeriod: '30s',
          retries: 5,
        },
        wait: true,
        waitTimeout: 120,
        restart: 'unless-stopped',
        init: true,
        stopTimeout: 60,
        labels: serviceLabels('postgres', args.stack),
      },
      {
        parent: this,
        // Two servers must never share one data directory: stop the old one first.
        deleteBeforeReplace: true,
        // The environment holds the password; see AuthService for why the whole list is secret.
        additionalSecretOutputs: ['envs'],
      },
    );

    this.url = pulumi.secret(
      pulumi.interpolate`postgres://${DATABASE.user}:${secretPassword}@${ALIASES.postgres}:${PORTS.postgres}/${DATABASE.name}`,
    );
    this.registerOutputs({ url: this.url });
  }
}
