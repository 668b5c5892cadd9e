/**
 * Test helpers: evaluate the real program for a stack under Pulumi's mocks, and find what it
 * declared. Each evaluation re-imports the program (it runs on import).
 */
import { vi } from 'vitest';
import { PROJECT } from '../config.js';
import {
  evaluateProgram,
  isSecretValue,
  reveal,
  type CapturedResource,
  type Evaluation,
} from '../testing/evaluate.js';
import { readStackFile } from '../testing/stack-files.js';
import { LABELS, type ServiceName } from '../topology.js';

/** A well-formed master key for tests: 32 bytes, base64. */
export const TEST_MASTER_KEY = Buffer.alloc(32, 7).toString('base64');

export const CONTAINER = 'docker:index/container:Container';

/** A stack's committed configuration, plus the secrets CI would set for it. */
export function stackConfig(stack: 'staging' | 'production'): Record<string, string> {
  const config = readStackFile(stack);
  if (stack === 'production') config[`${PROJECT}:authMasterKey`] = TEST_MASTER_KEY;
  return config;
}

/** Runs the program for `stack` with `config` (full keys) and returns what it declared. */
export async function evaluate(stack: string, config: Record<string, string>): Promise<Evaluation> {
  vi.resetModules();
  return evaluateProgram({
    stack,
    config,
    secretKeys: Object.keys(config).filter((k) => /(MasterKey|Url)$/.test(k)),
    load: () => import('../index.js'),
  });
}

/** The container running `service`, found by its label. */
export function container(evaluation: Evaluation, service: ServiceName): CapturedResource {
  const found = containers(evaluation).filter((c) => serviceLabel(c) === service);
  if (found.length !== 1)
    throw new Error(`expected one ${service} container, found ${found.length}`);
  return found[0] as CapturedResource;
}

export function containers(evaluation: Evaluation): CapturedResource[] {
  return evaluation.resources.filter((r) => r.type === CONTAINER);
}

export function serviceLabel(resource: CapturedResource): string | undefined {
  const labels = reveal(resource.inputs['labels'] ?? []) as { label: string; value: string }[];
  return labels.find((l) => l.label === LABELS.service)?.value;
}

/** A container's environment as it will run (secrets revealed). */
export function env(resource: CapturedResource): Map<string, string> {
  const entries = reveal(resource.inputs['envs'] ?? []) as string[];
  return new Map(entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
}

/** Names of the environment variables the program passed as Pulumi secrets. */
export function secretEnvNames(resource: CapturedResource): string[] {
  const entries = (resource.declaredInputs['envs'] ?? []) as unknown[];
  return entries
    .filter(isSecretValue)
    .map((e) => String(e.value))
    .map((e) => e.slice(0, e.indexOf('=')));
}

/** The networks a container joins, by name, with its aliases on each. */
export function networks(resource: CapturedResource): { name: string; aliases: string[] }[] {
  const attached = reveal(resource.inputs['networksAdvanced'] ?? []) as {
    name: string;
    aliases?: string[];
  }[];
  return attached.map((n) => ({ name: n.name, aliases: n.aliases ?? [] }));
}

/** Resources of one type. */
export function ofType(evaluation: Evaluation, type: string): CapturedResource[] {
  return evaluation.resources.filter((r) => r.type === type);
}

/** The resource with this name. */
export function named(evaluation: Evaluation, name: string): CapturedResource {
  const found = evaluation.resources.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no resource named ${name}`);
  return found;
}
