/**
 * Reads the committed `Pulumi.<stack>.yaml` files the way Pulumi does: keys as written, values
 * as strings (lists and maps as JSON). Refuses a file that commits an encrypted secret.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

/** The repository root, where `Pulumi.yaml` lives. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Path of a stack's configuration file. */
export function stackFilePath(stack: string): string {
  return `${REPO_ROOT}Pulumi.${stack}.yaml`;
}

/** The committed, non-secret configuration of a stack. */
export function readStackFile(stack: string): Record<string, string> {
  return parseStackFile(stack, readFileSync(stackFilePath(stack), 'utf8'));
}

/** Parses the text of `Pulumi.<stack>.yaml`; throws if it holds an encrypted secret. */
export function parseStackFile(stack: string, text: string): Record<string, string> {
  const document: unknown = parse(text);
  const config = (document as { config?: Record<string, unknown> } | null)?.config ?? {};
  const values: Record<string, string> = {};
  for (const [key, value] of Object.entries(config)) {
    if (typeof value === 'object' && value !== null && 'secure' in value) {
      throw new Error(
        `Pulumi.${stack}.yaml commits the secret ${key}; remove it (secrets are set in CI, see infra/README.md)`,
      );
    }
    values[key] = typeof value === 'string' ? value : JSON.stringify(value);
  }
  return values;
}
