/**
 * Runs the policy pack's stack policies against resources captured from the program under mocks,
 * the way the Pulumi engine presents them: secrets unwrapped, options alongside, and the stack's
 * outputs as the props of its `pulumi:pulumi:Stack` resource.
 */
import type { PolicyResource, StackValidationArgs } from '@pulumi/policy';
import { PROJECT } from '../config.js';
import { policies } from '../policy/policies.js';
import { reveal, type CapturedResource, type Evaluation } from '../testing/evaluate.js';

/** One violation: which policy, about which resource, saying what. */
export interface Violation {
  readonly policy: string;
  readonly resource: string;
  readonly message: string;
}

/** The engine's view of one resource, as a policy receives it. */
export function policyResource(stack: string, resource: CapturedResource): PolicyResource {
  return asPolicyResource({
    type: resource.type,
    name: resource.name,
    urn: urn(stack, resource.type, resource.name),
    props: reveal(resource.inputs) as Record<string, unknown>,
    protect: resource.options.protect,
    additionalSecretOutputs: [...resource.options.additionalSecretOutputs],
  });
}

/** Every resource of an evaluation, plus the stack resource carrying its outputs. */
export function policyResources(evaluation: Evaluation): PolicyResource[] {
  const outputs = Object.fromEntries(
    Object.entries(evaluation.outputs).map(([key, output]) => [key, output.value]),
  );
  return [
    asPolicyResource({
      type: 'pulumi:pulumi:Stack',
      name: `${PROJECT}-${evaluation.stack}`,
      urn: urn(evaluation.stack, 'pulumi:pulumi:Stack', `${PROJECT}-${evaluation.stack}`),
      props: outputs,
      protect: false,
      additionalSecretOutputs: [],
    }),
    ...evaluation.resources.map((r) => policyResource(evaluation.stack, r)),
  ];
}

/** Runs every policy over `resources` and returns the violations, in policy order. */
export async function violations(resources: PolicyResource[]): Promise<Violation[]> {
  const byUrn = new Map(resources.map((r) => [r.urn, r.name]));
  const found: Violation[] = [];
  for (const policy of policies) {
    const args: StackValidationArgs = {
      resources,
      stackTags: new Map(),
      getConfig: <T extends object>() => ({}) as T,
      notApplicable: (reason?: string): never => {
        throw new Error(`policy ${policy.name} declared itself not applicable: ${reason ?? ''}`);
      },
    };
    await policy.validateStack(args, (message, urnOfResource) => {
      found.push({
        policy: policy.name,
        resource:
          urnOfResource === undefined ? '(stack)' : (byUrn.get(urnOfResource) ?? urnOfResource),
        message,
      });
    });
  }
  return found;
}

function urn(stack: string, type: string, name: string): string {
  return `urn:pulumi:${stack}::${PROJECT}::${type}::${name}`;
}

function asPolicyResource(r: {
  type: string;
  name: string;
  urn: string;
  props: Record<string, unknown>;
  protect: boolean;
  additionalSecretOutputs: string[];
}): PolicyResource {
  return {
    type: r.type,
    name: r.name,
    urn: r.urn,
    props: r.props,
    opts: {
      protect: r.protect,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: r.additionalSecretOutputs,
    },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  } as PolicyResource;
}
