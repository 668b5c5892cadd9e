/**
 * The public API: the only service that joins both networks and the only published port. It
 * calls the auth service over the private network.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { ALIASES, PORTS, serviceLabels } from '../topology.js';

/** Arguments of `Api`. */
export interface ApiArgs {
  /** Image reference from the stack configuration, pinned by tag or digest. */
  readonly image: string;
  readonly privateNetworkName: pulumi.Input<string>;
  readonly publicNetworkName: pulumi.Input<string>;
  /** `AUTH_SERVICE_URL`, e.g. `http://auth:8001`. */
  readonly authServiceUrl: pulumi.Input<string>;
  /** Host port that publishes the API's port 8000. */
  readonly publicPort: number;
  /** Docker health check command (`["CMD", …]`). */
  readonly healthcheck: readonly string[];
  /** Non-root user to run as. */
  readonly user: string;
  /** Stack name, for the container's labels. */
  readonly stack: string;
}

/** The stack's API service. */
export class Api extends pulumi.ComponentResource {
  /** The host port clients connect to. */
  readonly publicPort: pulumi.Output<number>;

  constructor(name: string, args: ApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super('quint:infra:Api', name, {}, opts);
    if (!Number.isInteger(args.publicPort) || args.publicPort < 1 || args.publicPort > 65_535) {
      throw new Error(`Api ${name}: publicPort must be a TCP port, got ${args.publicPort}`);
    }
    if (args.healthcheck.length < 2) {
      throw new Error(`Api ${name}: healthcheck must be a command such as ["CMD", "probe"]`);
    }

    const image = new docker.RemoteImage(
      `${name}-image`,
      { name: args.image, keepLocally: true },
      { parent: this },
    );

    new docker.Container(
      `${name}-container`,
      {
        image: image.imageId,
        user: args.user,
        envs: [pulumi.interpolate`AUTH_SERVICE_URL=${args.authServiceUrl}`],
        networksAdvanced: [
          { name: args.privateNetworkName, aliases: [ALIASES.api] },
          { name: args.publicNetworkName },
        ],
        ports: [{ internal: PORTS.api, external: args.publicPort, protocol: 'tcp' }],
        healthcheck: {
          tests: [...args.healthcheck],
          interval: '10s',
          timeout: '5s',
          startPeriod: '30s',
          retries: 3,
        },
        wait: true,
        waitTimeout: 180,
        restart: 'unless-stopped',
        init: true,
        destroyGraceSeconds: 30,
        labels: serviceLabels('api', args.stack),
      },
      // The host port can be bound by one container only, so the old one must go first: an API
      // replacement is a short ingress gap. (Auth replacements have none.)
      { parent: this, deleteBeforeReplace: true },
    );

    this.publicPort = pulumi.output(args.publicPort);
    this.registerOutputs({ publicPort: this.publicPort });
  }
}
