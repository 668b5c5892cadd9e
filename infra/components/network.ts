/**
 * The two Docker networks of a stack. Everything talks over the private one, which Docker marks
 * internal: it has no route out, nothing can be published from it, and only containers attached
 * to it can reach its members. The public one exists only for the API's ingress.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';

/** Arguments of `Network`. */
export interface NetworkArgs {
  /** Prefix of the Docker network names, unique per stack on a shared host (`quint-staging`). */
  readonly namePrefix: string;
}

/** A stack's private (internal) and public networks. */
export class Network extends pulumi.ComponentResource {
  /** Name of the internal network every service joins; the smoke test attaches to it too. */
  readonly privateNetworkName: pulumi.Output<string>;
  /** Name of the network the API publishes its port from. */
  readonly publicNetworkName: pulumi.Output<string>;

  constructor(name: string, args: NetworkArgs, opts?: pulumi.ComponentResourceOptions) {
    super('quint:infra:Network', name, {}, opts);
    if (!/^[a-z0-9][a-z0-9_.-]*$/.test(args.namePrefix)) {
      throw new Error(`Network ${name}: namePrefix "${args.namePrefix}" is not a Docker name`);
    }

    const privateNetwork = new docker.Network(
      `${name}-private`,
      { name: `${args.namePrefix}-private`, driver: 'bridge', internal: true },
      { parent: this },
    );
    const publicNetwork = new docker.Network(
      `${name}-public`,
      { name: `${args.namePrefix}-public`, driver: 'bridge', internal: false },
      { parent: this },
    );

    this.privateNetworkName = privateNetwork.name;
    this.publicNetworkName = publicNetwork.name;
    this.registerOutputs({
      privateNetworkName: this.privateNetworkName,
      publicNetworkName: this.publicNetworkName,
    });
  }
}
