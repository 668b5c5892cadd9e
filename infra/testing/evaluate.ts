/**
 * Runs the Pulumi program offline, under Pulumi's mocks, and records what it declared: every
 * resource with the inputs the engine would receive and the options it was given, plus the stack
 * outputs. Tests, the policy tests and `npm run infra:render` all look at the program this way.
 *
 * Call it once per process (or after `vi.resetModules()`): the program runs when imported.
 */
import { createHash } from 'node:crypto';
import * as pulumi from '@pulumi/pulumi';
import { PROJECT } from '../config.js';

/** How the mock monitor marks a secret value in resource inputs. */
export const SECRET_SIG_KEY = pulumi.runtime.specialSigKey;
export const SECRET_SIG = pulumi.runtime.specialSecretSig;

/** A secret as it reaches the engine: `{ [SECRET_SIG_KEY]: SECRET_SIG, value }`. */
export interface SecretValue {
  readonly value: unknown;
}

/** Resource options that matter to safety and review. */
export interface CapturedOptions {
  readonly protect: boolean;
  readonly deleteBeforeReplace: boolean;
  readonly retainOnDelete: boolean;
  readonly additionalSecretOutputs: readonly string[];
  readonly ignoreChanges: readonly string[];
}

/** One resource the program declared. */
export interface CapturedResource {
  readonly type: string;
  readonly name: string;
  /** The parent's name, or undefined for resources directly under the stack. */
  readonly parent: string | undefined;
  /** False for component resources. */
  readonly custom: boolean;
  /** Inputs as the engine receives them; secrets stay wrapped (see `isSecretValue`). */
  readonly inputs: Readonly<Record<string, unknown>>;
  /**
   * Inputs as the program wrote them, resolved, with each value the program marked secret still
   * wrapped on its own. The engine's view (`inputs`) can be coarser: a property listed in
   * `additionalSecretOutputs` arrives as one secret.
   */
  readonly declaredInputs: Readonly<Record<string, unknown>>;
  readonly options: CapturedOptions;
}

/** One stack output, resolved. */
export interface CapturedOutput {
  readonly value: unknown;
  readonly secret: boolean;
}

/** What one run of the program declared. */
export interface Evaluation {
  readonly stack: string;
  readonly resources: readonly CapturedResource[];
  readonly outputs: Readonly<Record<string, CapturedOutput>>;
}

/** Options of `evaluateProgram`. */
export interface EvaluateOptions {
  readonly stack: string;
  /** Full keys (`quint:apiImage`, `docker:host`) to string values, as Pulumi passes them. */
  readonly config: Readonly<Record<string, string>>;
  /** Keys of `config` that hold secrets. */
  readonly secretKeys?: readonly string[];
  /** Imports the program, e.g. `() => import('../index.js')`. */
  readonly load: () => Promise<Record<string, unknown>>;
}

/** True if `value` is a secret as the engine sees it. */
export function isSecretValue(value: unknown): value is SecretValue {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)[SECRET_SIG_KEY] === SECRET_SIG
  );
}

/** Removes secret wrappers, for assertions on what a container will actually receive. */
export function reveal(value: unknown): unknown {
  if (isSecretValue(value)) return reveal(value.value);
  if (Array.isArray(value)) return value.map(reveal);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, reveal(v)]));
  }
  return value;
}

/**
 * Values the provider would compute at deploy time, as self-describing placeholders so that a
 * rendering shows where each came from instead of a fake digest.
 */
function computedState(type: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case 'docker:index/image:Image':
      return { repoDigest: `<digest of ${String(inputs['imageName'])}, built on the host>` };
    case 'docker:index/remoteImage:RemoteImage':
      return {
        imageId: `<digest of ${String(inputs['name'])}>`,
        repoDigest: `<repo digest of ${String(inputs['name'])}>`,
      };
    case 'random:index/randomPassword:RandomPassword':
      return { result: placeholderSecret(inputs) };
    case 'random:index/randomBytes:RandomBytes': {
      const bytes = createHash('sha256').update(JSON.stringify(inputs)).digest();
      return { base64: bytes.toString('base64'), hex: bytes.toString('hex') };
    }
    default:
      return {};
  }
}

function placeholderSecret(inputs: Record<string, unknown>): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('base64url');
}

/** Runs the program for one stack under mocks and returns what it declared. */
export async function evaluateProgram(options: EvaluateOptions): Promise<Evaluation> {
  const registered = new Map<
    string,
    { type: string; inputs: Record<string, unknown>; custom: boolean }
  >();
  const declared: {
    resource: pulumi.Resource;
    type: string;
    name: string;
    parent?: string;
    props: Record<string, unknown>;
    options: CapturedOptions;
  }[] = [];
  const names = new WeakMap<pulumi.Resource, string>();

  pulumi.runtime.setAllConfig({ ...options.config }, [...(options.secretKeys ?? [])]);
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        registered.set(`${args.type}::${args.name}`, {
          type: args.type,
          inputs: args.inputs as Record<string, unknown>,
          custom: args.custom ?? true,
        });
        const inputs = reveal(args.inputs) as Record<string, unknown>;
        return {
          id: `${args.name}-id`,
          state: { ...args.inputs, ...computedState(args.type, inputs) },
        };
      },
      call(args) {
        return args.inputs;
      },
    },
    PROJECT,
    options.stack,
    false,
  );

  let exports: Record<string, unknown> = {};
  let failure: { error: unknown } | undefined;
  await pulumi.runtime.runInPulumiStack(async () => {
    pulumi.runtime.registerStackTransformation((args) => {
      names.set(args.resource, args.name);
      const parent = args.opts.parent;
      declared.push({
        resource: args.resource,
        type: args.type,
        name: args.name,
        parent:
          parent === undefined || parent === pulumi.runtime.getStackResource()
            ? undefined
            : names.get(parent),
        props: args.props,
        options: {
          protect: args.opts.protect === true,
          deleteBeforeReplace:
            (args.opts as pulumi.CustomResourceOptions).deleteBeforeReplace === true,
          retainOnDelete: args.opts.retainOnDelete === true,
          additionalSecretOutputs: [
            ...((args.opts as pulumi.CustomResourceOptions).additionalSecretOutputs ?? []),
          ],
          ignoreChanges: [...(args.opts.ignoreChanges ?? [])],
        },
      });
      return undefined;
    });
    try {
      exports = await options.load();
    } catch (error) {
      // Rethrown below: a rejection inside the stack's init would also surface as an unhandled one.
      failure = { error };
    }
    return {};
  });
  if (failure !== undefined) throw failure.error;

  // Wait until every registration has reached the mocks.
  await Promise.all(declared.map((d) => resolve(d.resource.urn)));

  const resources: CapturedResource[] = [];
  for (const d of declared) {
    const seen = registered.get(`${d.type}::${d.name}`);
    if (seen === undefined)
      throw new Error(`${d.type} ${d.name} was declared but never registered`);
    resources.push({
      type: d.type,
      name: d.name,
      parent: d.parent,
      custom: seen.custom,
      inputs: seen.inputs,
      declaredInputs: (await declaredValue(d.props, names)) as Record<string, unknown>,
      options: d.options,
    });
  }

  const outputs: Record<string, CapturedOutput> = {};
  for (const [key, value] of Object.entries(exports)) {
    if (pulumi.Output.isInstance(value)) {
      outputs[key] = { value: await resolve(value), secret: await pulumi.isSecret(value) };
    } else if (value !== undefined && typeof value !== 'function') {
      outputs[key] = { value, secret: false };
    }
  }

  return { stack: options.stack, resources, outputs };
}

/** Resolves a value the program passed, keeping its own secret marks (see `declaredInputs`). */
async function declaredValue(
  value: unknown,
  names: WeakMap<pulumi.Resource, string>,
): Promise<unknown> {
  if (pulumi.Output.isInstance(value)) {
    const [inner, secret] = await Promise.all([resolve(value), pulumi.isSecret(value)]);
    const walked = await declaredValue(inner, names);
    return secret ? { [SECRET_SIG_KEY]: SECRET_SIG, value: walked } : walked;
  }
  if (value instanceof Promise) return declaredValue(await value, names);
  if (pulumi.Resource.isInstance(value)) return `<resource ${names.get(value) ?? '?'}>`;
  if (Array.isArray(value)) return Promise.all(value.map((v) => declaredValue(v, names)));
  if (typeof value === 'object' && value !== null) {
    const entries: [string, unknown][] = [];
    for (const [key, child] of Object.entries(value)) {
      if (child !== undefined) entries.push([key, await declaredValue(child, names)]);
    }
    return Object.fromEntries(entries);
  }
  return value;
}

function resolve<T>(output: pulumi.Output<T>): Promise<T> {
  return new Promise((done) => output.apply((value) => done(value)));
}
