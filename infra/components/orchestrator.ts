/**
 * The orchestrator: private network only, reachable as `orchestrator:8002` by the API, calling
 * the auth service like the API does.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { ALIASES, serviceLabels } from '../topology.js';

/** Arguments of `Orchestrator`. */
export interface OrchestratorArgs {
  /** Image reference from the stack configuration, pinned by tag or digest. */
  readonly image: string;
  readonly privateNetworkName: pulumi.Input<string>;
  /** `AUTH_SERVICE_URL`, e.g. `http://auth:8001`. */
  readonly authServiceUrl: pulumi.Input<string>;
  /** Docker health check command (`["CMD", …]`). */
  readonly healthcheck: readonly string[];
  /** Non-root user to run as. */
  readonly user: string;
  /** Stack name, for the container's labels. */
  readonly stack: string;
}

/** The stack's orchestrator service. */
export class Orchestrator extends pulumi.ComponentResource {
  constructor(name: string, args: OrchestratorArgs, opts?: pulumi.ComponentResourceOptions) {
    super('quint:infra:Orchestrator', name, {}, opts);
    if (args.healthcheck.length < 2) {
      throw new Error(
        `Orchestrator ${name}: healthcheck must be a command such as ["CMD", "probe"]`,
      );
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
        networksAdvanced: [{ name: args.privateNetworkName, aliases: [ALIASES.orchestrator] }],
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
        labels: serviceLabels('orchestrator', args.stack),
      },
      // No name and no host port: the new container starts (healthy) before the old one stops.
      { parent: this },
    );

    this.registerOutputs({});
  }
}
