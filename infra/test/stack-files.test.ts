/**
 * The committed Pulumi project and stack files: the program Pulumi runs, and only non-secret
 * values, each of which the program accepts.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { KNOWN_KEYS, PROJECT, SECRET_KEYS, STACKS } from '../config.js';
import { parseStackFile, readStackFile, REPO_ROOT, stackFilePath } from '../testing/stack-files.js';

describe('Pulumi.yaml', () => {
  const project = parse(readFileSync(`${REPO_ROOT}Pulumi.yaml`, 'utf8')) as Record<string, unknown>;

  it('names the project whose config namespace the program reads', () => {
    expect(project['name']).toBe(PROJECT);
  });

  it('runs infra/index.ts on Node.js through tsx, not the bundled ts-node', () => {
    expect(project['main']).toBe('infra/index.ts');
    expect(project['runtime']).toEqual({
      name: 'nodejs',
      options: { packagemanager: 'npm', typescript: false, nodeargs: '--import tsx' },
    });
  });
});

describe.each(STACKS)('Pulumi.%s.yaml', (stack) => {
  it('commits no secret, encrypted or not', () => {
    const raw = parse(readFileSync(stackFilePath(stack), 'utf8')) as { config: object };
    expect(JSON.stringify(raw)).not.toContain('"secure"');
    const config = readStackFile(stack);
    for (const key of SECRET_KEYS) expect(config).not.toHaveProperty(`${PROJECT}:${key}`);
  });

  it('uses only keys the program knows, and names the Docker host', () => {
    const config = readStackFile(stack);
    const keys = Object.keys(config);
    expect(keys).toContain('docker:host');
    for (const key of keys.filter((k) => k.startsWith(`${PROJECT}:`))) {
      expect(KNOWN_KEYS).toContain(key.slice(PROJECT.length + 1));
    }
  });

  it('would be refused if someone committed `pulumi config set --secret` output into it', () => {
    const text = readFileSync(stackFilePath(stack), 'utf8');
    const leaked = `${text}  quint:authMasterKey:\n    secure: AAABAKx1bm9tYXN0ZXJrZXk=\n`;
    expect(() => parseStackFile(stack, text)).not.toThrow();
    expect(() => parseStackFile(stack, leaked)).toThrow(
      `Pulumi.${stack}.yaml commits the secret quint:authMasterKey`,
    );
  });
});
