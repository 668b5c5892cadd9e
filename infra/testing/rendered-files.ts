/**
 * The committed renderings in `infra/rendered/`, one per stack, and how to regenerate them. Each
 * stack is evaluated in its own process, as `pulumi preview` would: the program runs on import.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { STACKS } from '../config.js';
import { REPO_ROOT } from './stack-files.js';

const run = promisify(execFile);

/** Path of a stack's committed rendering. */
export function renderedFilePath(stack: string): string {
  return `${REPO_ROOT}infra/rendered/${stack}.yaml`;
}

/** Renders one stack in a child process (`scripts/render-infra.ts --stack <stack>`). */
export async function renderStackInChild(stack: string): Promise<string> {
  const { stdout } = await run(
    process.execPath,
    ['--import', 'tsx', `${REPO_ROOT}scripts/render-infra.ts`, '--stack', stack],
    { cwd: REPO_ROOT, maxBuffer: 16 * 1024 * 1024 },
  );
  return stdout;
}

/** Renders every stack, in parallel. */
export async function renderAllStacks(): Promise<Map<string, string>> {
  const texts = await Promise.all(STACKS.map((stack) => renderStackInChild(stack)));
  return new Map(STACKS.map((stack, i) => [stack, texts[i] ?? '']));
}

/** Stacks whose committed rendering differs from a fresh one (missing counts as stale). */
export async function staleRenderings(fresh: Map<string, string>): Promise<string[]> {
  const stale: string[] = [];
  for (const [stack, text] of fresh) {
    const committed = await readFile(renderedFilePath(stack), 'utf8').catch(() => undefined);
    if (committed !== text) stale.push(stack);
  }
  return stale;
}
