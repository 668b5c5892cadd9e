/**
 * `npm run smoke -- <auth-url>` (or `node dist/scripts/smoke.js <auth-url>` in the image): exits 0
 * only if the auth service at <auth-url> is healthy and tokens round-trip. See `usage` below and
 * docker/README.md; the steps are in smoke-steps.ts.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import {
  checkKeptTokens,
  parseKeptTokens,
  runSmoke,
  type AppTokenSource,
  type SmokeOutcome,
  type StepResult,
} from './smoke-steps.js';

export const usage = `usage: npm run smoke -- <auth-url> [options]
       node dist/scripts/smoke.js <auth-url> [options]

Checks GET /health, mints a session token from an app token, verifies it, revokes it and checks
that it no longer verifies. Prints one line per step on stdout; exits 0 only if every step passed.

The app token, one of:
  SMOKE_APP_TOKEN=<app token>                  use this app token (environment, not a flag, so it
                                               stays out of process lists and CI logs)
  SMOKE_ADMIN_TOKEN=<AUTH_ADMIN_TOKEN> --customer <id>
                                               create an app token for an existing customer with
                                               the admin endpoint, and revoke it at the end
                                               (SMOKE_CUSTOMER_ID works instead of --customer)
options:
  --wait <seconds>        keep asking /health this long before giving up (default 0)
  --timeout <ms>          time limit of each request (default 5000)
  --keep-tokens           also mint a session token left active, and print both tokens as
                          "kept-tokens: {json}" for a later --check-tokens
  --check-tokens          only check, e.g. after a restart, that the tokens in SMOKE_KEPT_TOKENS
                          (that JSON) still verify (active) and stay revoked (revoked)
exit status: 0 healthy, 1 a step failed, 2 bad usage`;

/** Everything `main` needs, read from the command line and the environment. */
export type SmokeCommand =
  | { readonly mode: 'help' }
  | {
      readonly mode: 'smoke';
      readonly baseUrl: string;
      readonly appToken: AppTokenSource;
      readonly timeoutMs: number;
      readonly waitMs: number;
      readonly keepTokens: boolean;
    }
  | {
      readonly mode: 'check';
      readonly baseUrl: string;
      readonly keptTokens: string;
      readonly timeoutMs: number;
      readonly waitMs: number;
    };

/** A command line or environment that cannot work; the message says what to change. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

function number(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0)
    throw new UsageError(`${name} must be a number ≥ 0, got "${value}"`);
  return n;
}

/** Reads the command line and environment; throws `UsageError` on anything that cannot work. */
export function parseCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): SmokeCommand {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        customer: { type: 'string' },
        wait: { type: 'string' },
        timeout: { type: 'string' },
        'keep-tokens': { type: 'boolean', default: false },
        'check-tokens': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return { mode: 'help' };
  if (positionals.length !== 1)
    throw new UsageError('give exactly one <auth-url>, e.g. http://localhost:8001');
  const baseUrl = positionals[0] as string;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw new UsageError(`<auth-url> "${baseUrl}" is not a URL; give one like http://auth:8001`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new UsageError(`<auth-url> must be http(s), got ${url.protocol}`);
  const timeoutMs = number(values.timeout, '--timeout', 5000);
  const waitMs = number(values.wait, '--wait', 0) * 1000;

  if (values['check-tokens']) {
    const keptTokens = env.SMOKE_KEPT_TOKENS;
    if (!keptTokens)
      throw new UsageError(
        '--check-tokens reads the tokens from SMOKE_KEPT_TOKENS, which is empty',
      );
    return { mode: 'check', baseUrl, keptTokens, timeoutMs, waitMs };
  }

  const given = env.SMOKE_APP_TOKEN;
  const adminToken = env.SMOKE_ADMIN_TOKEN;
  const customerId = values.customer ?? env.SMOKE_CUSTOMER_ID;
  let appToken: AppTokenSource;
  if (given) {
    appToken = { kind: 'given', token: given };
  } else if (adminToken && customerId) {
    appToken = { kind: 'admin', adminToken, customerId };
  } else {
    throw new UsageError(
      "no app token: set SMOKE_APP_TOKEN, or SMOKE_ADMIN_TOKEN (the service's AUTH_ADMIN_TOKEN) with --customer <customer id>",
    );
  }
  return { mode: 'smoke', baseUrl, appToken, timeoutMs, waitMs, keepTokens: values['keep-tokens'] };
}

/** One line per step: `ok   <step>: <detail> [<ms> ms]` or `FAIL <step>: <detail>`. */
export function formatStep(result: StepResult): string {
  return `${result.ok ? 'ok  ' : 'FAIL'} ${result.step}: ${result.detail} [${result.ms} ms]`;
}

/** Runs the command; returns the exit status. */
export async function execute(
  command: SmokeCommand,
  out: (line: string) => void,
  err: (line: string) => void,
): Promise<number> {
  if (command.mode === 'help') {
    out(usage);
    return 0;
  }
  const onStep = (result: StepResult) => out(formatStep(result));
  let outcome: SmokeOutcome;
  if (command.mode === 'check') {
    let tokens;
    try {
      tokens = parseKeptTokens(command.keptTokens);
    } catch (error) {
      err(`smoke: SMOKE_KEPT_TOKENS: ${(error as Error).message}`);
      return 2;
    }
    err(`smoke: checking kept tokens against ${command.baseUrl}`);
    outcome = await checkKeptTokens({ ...command, tokens }, onStep);
  } else {
    err(`smoke: testing ${command.baseUrl}`);
    outcome = await runSmoke({ ...command, revocationWindowMs: 1500 }, onStep);
  }
  if (!outcome.ok) {
    const failed = outcome.steps.at(-1);
    err(`smoke: FAILED at "${failed?.step ?? '?'}": ${failed?.detail ?? 'no step ran'}`);
    return 1;
  }
  if (outcome.kept) out(`kept-tokens: ${JSON.stringify(outcome.kept)}`);
  out(`smoke: ${outcome.steps.length} steps passed against ${command.baseUrl}`);
  return 0;
}

async function main(): Promise<void> {
  let command: SmokeCommand;
  try {
    command = parseCommand(process.argv.slice(2), process.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`smoke: ${error.message}\n\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  process.exitCode = await execute(
    command,
    (line) => process.stdout.write(`${line}\n`),
    (line) => process.stderr.write(`${line}\n`),
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await main();
}
