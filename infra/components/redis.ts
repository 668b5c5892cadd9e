/**
 * Redis on the private network, with append-only persistence on a named volume. The auth
 * service keeps its revocation fan-out and caches here.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { ALIASES, PORTS, serviceLabels } from '../topology.js';

/** Arguments of `Redis`. */
export interface RedisArgs {
  /** Image reference, e.g. `redis:8-trixie`. */
  readonly image: string;
  /** The private network's name; Redis joins no other. */
  readonly privateNetworkName: pulumi.Input<string>;
  /** Name of the data volume on the host. */
  readonly volumeName: string;
  /** Protect the volume from deletion and keep it if the stack is destroyed. */
  readonly protectData: boolean;
  /** Stack name, for the container's labels. */
  readonly stack: string;
}

/** The stack's Redis server. */
export class Redis extends pulumi.ComponentResource {
  /** `redis://redis:6379/0`: reachable only from the private network, so it holds no password. */
  readonly url: pulumi.Output<string>;

  constructor(name: string, args: RedisArgs, opts?: pulumi.ComponentResourceOptions) {
    super('quint:infra:Redis', name, {}, opts);
    if (args.image === '' || args.volumeName === '') {
      throw new Error(`Redis ${name}: image and volumeName are required`);
    }

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
        user: 'redis',
        command: ['redis-server', '--appendonly', 'yes', '--port', String(PORTS.redis)],
        volumes: [{ volumeName: volume.name, containerPath: '/data' }],
        networksAdvanced: [{ name: args.privateNetworkName, aliases: [ALIASES.redis] }],
        healthcheck: {
          tests: ['CMD', 'redis-cli', '-p', String(PORTS.redis), 'ping'],
          interval: '10s',
          timeout: '3s',
          startPeriod: '10s',
          retries: 5,
        },
        wait: true,
        waitTimeout: 60,
        restart: 'unless-stopped',
        init: true,
        labels: serviceLabels('redis', args.stack),
      },
      // One append-only file, one writer: stop the old server before the new one starts.
      { parent: this, deleteBeforeReplace: true },
    );

    this.url = pulumi.output(`redis://${ALIASES.redis}:${PORTS.redis}/0`);
    this.registerOutputs({ url: this.url });
  }
}
