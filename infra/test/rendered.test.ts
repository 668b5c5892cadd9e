/**
 * The committed renderings in infra/rendered/ are what reviewers read: they must match the
 * program and stack files exactly, and never contain a secret.
 */
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { STACKS } from '../config.js';
import { isSecretValue, type SecretValue } from '../testing/evaluate.js';
import { PLACEHOLDER_SECRETS, REDACTED, redact } from '../testing/render.js';
import { renderAllStacks, renderedFilePath, staleRenderings } from '../testing/rendered-files.js';

let fresh: Map<string, string>;
beforeAll(async () => {
  fresh = await renderAllStacks();
}, 60_000);

it('is up to date for every stack (run `npm run infra:render` and commit the result)', async () => {
  expect(await staleRenderings(fresh)).toEqual([]);
});

describe.each(STACKS)('the %s rendering', (stack) => {
  it('shows every secret environment variable by name only', () => {
    const text = fresh.get(stack) ?? '';
    for (const variable of ['AUTH_DATABASE_URL', 'AUTH_MASTER_KEY', 'AUTH_ADMIN_TOKEN']) {
      expect(text).toContain(`- ${variable}=${REDACTED}`);
    }
    expect(text).toContain(`- POSTGRES_PASSWORD=${REDACTED}`);
    expect(text).toContain('- AUTH_ENV=' + stack);
  });

  it('contains none of the placeholder secrets it was rendered with', () => {
    const text = readFileSync(renderedFilePath(stack), 'utf8');
    for (const secret of Object.values(PLACEHOLDER_SECRETS)) expect(text).not.toContain(secret);
    expect(text).not.toMatch(/:\/\/[^/\s:@]*:[^@\s/]+@/);
  });
});

describe('redact', () => {
  const secret = (value: unknown): SecretValue =>
    ({
      '4dabf18193072939515e22adb298388d': '1b47061264138c4ac30d75fd1eb44270',
      value,
    }) as SecretValue;

  it('builds the wrapper the engine uses', () => {
    expect(isSecretValue(secret('x'))).toBe(true);
  });

  it('keeps the variable name of a secret environment entry and hides its value', () => {
    expect(redact(['A=1', secret('TOKEN=abc')])).toEqual(['A=1', `TOKEN=${REDACTED}`]);
  });

  it('hides secrets nested anywhere, and sorts keys for stable diffs', () => {
    expect(redact({ b: { password: secret('p') }, a: [secret(['x'])] })).toEqual({
      a: [REDACTED],
      b: { password: REDACTED },
    });
    expect(Object.keys(redact({ b: 1, a: 2 }) as object)).toEqual(['a', 'b']);
  });
});
