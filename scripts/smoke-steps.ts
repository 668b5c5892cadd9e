/**
 * The smoke test of a running auth service, as steps that stop at the first failure:
 *
 *   health → (app token from the admin endpoint) → mint a session token → verify it (active) →
 *   revoke it with itself → verify it again (inactive) → (revoke the app token it created)
 *
 * It needs an app token, given, or made for an existing customer with the admin token; a token it
 * made it also revokes, so a smoke run after each deploy leaves no live credential behind. With
 * `keepTokens` it also mints a session token that it leaves active and reports both tokens, so
 * `checkKeptTokens` can prove after a restart that the one still verifies and the other stays
 * revoked. Each step's outcome is data (`StepResult`); `main` in smoke.ts only prints them.
 */
import {
  AuthClient,
  SmokeHttpError,
  describeAnswer,
  field,
  flag,
  type HttpAnswer,
} from './smoke-client.js';

/** Where the app token comes from. */
export type AppTokenSource =
  | { readonly kind: 'given'; readonly token: string }
  | { readonly kind: 'admin'; readonly adminToken: string; readonly customerId: string };

export interface SmokeOptions {
  readonly baseUrl: string;
  readonly appToken: AppTokenSource;
  /** Time limit of each request, ms. */
  readonly timeoutMs: number;
  /** How long to keep asking `/health` before calling the service down, ms (0: ask once). */
  readonly waitMs: number;
  /** How long a revocation may take to reach the worker or replica that answers, ms. */
  readonly revocationWindowMs: number;
  /** Leave a second session token active and return it with the revoked one. */
  readonly keepTokens: boolean;
}

export interface StepResult {
  readonly step: string;
  readonly ok: boolean;
  /** What was seen (on success) or what was wrong and what to do (on failure). */
  readonly detail: string;
  readonly ms: number;
}

/** Two session tokens minted by one run: one left active, one revoked. */
export interface KeptTokens {
  readonly active: string;
  readonly revoked: string;
}

export interface SmokeOutcome {
  readonly ok: boolean;
  readonly steps: readonly StepResult[];
  readonly kept?: KeptTokens;
}

/** A step that failed; `detail` is shown to the operator as is. */
class StepFailure extends Error {
  constructor(readonly detail: string) {
    super(detail);
  }
}

const SESSION_TTL_SECONDS = 600;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs steps in order, stopping at the first that throws; records each outcome. */
class StepRunner {
  readonly steps: StepResult[] = [];
  #onStep: (result: StepResult) => void;

  constructor(onStep: (result: StepResult) => void) {
    this.#onStep = onStep;
  }

  async run<T>(step: string, body: () => Promise<{ value: T; detail: string }>): Promise<T> {
    const started = performance.now();
    try {
      const { value, detail } = await body();
      this.#record({ step, ok: true, detail, ms: Math.round(performance.now() - started) });
      return value;
    } catch (error) {
      const detail =
        error instanceof StepFailure || error instanceof SmokeHttpError
          ? error.message
          : `unexpected error: ${error instanceof Error ? error.message : String(error)}`;
      this.#record({ step, ok: false, detail, ms: Math.round(performance.now() - started) });
      throw new StepFailure(detail);
    }
  }

  #record(result: StepResult) {
    this.steps.push(result);
    this.#onStep(result);
  }
}

function expectStatus(answer: HttpAnswer, status: number, what: string): void {
  if (answer.status !== status) {
    throw new StepFailure(`${what}: expected HTTP ${status}, got ${describeAnswer(answer)}`);
  }
}

async function health(
  client: AuthClient,
  waitMs: number,
): Promise<{ value: void; detail: string }> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    let problem: string;
    try {
      const answer = await client.health();
      if (answer.status === 200 && field(answer.body, 'status') === 'ok') {
        const parts = ['postgres', 'redis'].map((p) => `${p} ${field(answer.body, p) ?? '?'}`);
        return { value: undefined, detail: `${parts.join(', ')} (${answer.ms} ms)` };
      }
      problem = `GET /health answered ${describeAnswer(answer)}; the service or its Postgres/Redis is not healthy, see its logs`;
    } catch (error) {
      if (!(error instanceof SmokeHttpError)) throw error;
      problem = `${error.message}; is the service running and is ${client.baseUrl} the right address from here?`;
    }
    if (Date.now() >= deadline) throw new StepFailure(problem);
    await sleep(Math.min(500, Math.max(0, deadline - Date.now())));
  }
}

async function appToken(
  client: AuthClient,
  source: AppTokenSource,
): Promise<{ value: string; detail: string }> {
  if (source.kind === 'given') return { value: source.token, detail: 'given' };
  const answer = await client.createAppToken(source.adminToken, source.customerId);
  if (answer.status === 404) {
    throw new StepFailure(
      `POST /v1/customers/${source.customerId}/app-tokens answered ${describeAnswer(answer)}: ` +
        'either the customer does not exist or the service has no AUTH_ADMIN_TOKEN set',
    );
  }
  expectStatus(answer, 201, 'creating an app token with the admin token');
  const token = field(answer.body, 'token');
  if (token === undefined)
    throw new StepFailure('the admin endpoint answered 201 without a "token"');
  return {
    value: token,
    detail: `for customer ${source.customerId}, expires ${field(answer.body, 'expires_at') ?? '?'}`,
  };
}

async function mintSession(
  client: AuthClient,
  parent: string,
): Promise<{ value: string; detail: string }> {
  const answer = await client.mint(parent, { kind: 'session', ttl_seconds: SESSION_TTL_SECONDS });
  if (answer.status === 401) {
    throw new StepFailure(
      `POST /v1/tokens refused the app token: ${describeAnswer(answer)}; is it valid, unexpired and unrevoked?`,
    );
  }
  expectStatus(answer, 201, 'POST /v1/tokens');
  const token = field(answer.body, 'token');
  if (token === undefined || field(answer.body, 'kind') !== 'session') {
    throw new StepFailure(
      `POST /v1/tokens answered 201 without a session token: ${answer.text.slice(0, 200)}`,
    );
  }
  return {
    value: token,
    detail: `jti ${field(answer.body, 'jti') ?? '?'}, expires ${field(answer.body, 'expires_at') ?? '?'}`,
  };
}

async function expectActive(
  client: AuthClient,
  token: string,
): Promise<{ value: void; detail: string }> {
  const answer = await client.verify(token);
  expectStatus(answer, 200, 'POST /v1/tokens/verify');
  if (flag(answer.body, 'active') !== true) {
    throw new StepFailure(
      `POST /v1/tokens/verify says the token is not active: ${answer.text.slice(0, 200)}`,
    );
  }
  return {
    value: undefined,
    detail: `active, kind ${field(answer.body, 'kind') ?? '?'}, customer ${field(answer.body, 'cid') ?? '?'}`,
  };
}

async function expectInactive(
  client: AuthClient,
  token: string,
  windowMs: number,
): Promise<{ value: void; detail: string }> {
  const started = Date.now();
  for (;;) {
    const answer = await client.verify(token);
    expectStatus(answer, 200, 'POST /v1/tokens/verify');
    const active = flag(answer.body, 'active');
    if (active === false)
      return { value: undefined, detail: `inactive after ${Date.now() - started} ms` };
    if (active !== true)
      throw new StepFailure(
        `POST /v1/tokens/verify answered without "active": ${answer.text.slice(0, 200)}`,
      );
    if (Date.now() - started >= windowMs) {
      throw new StepFailure(
        `the revoked token still verifies as active after ${windowMs} ms (the contract allows one second)`,
      );
    }
    await sleep(100);
  }
}

async function revoke(
  client: AuthClient,
  bearer: string,
  token: string,
): Promise<{ value: void; detail: string }> {
  const answer = await client.revoke(bearer, token);
  expectStatus(answer, 200, 'POST /v1/tokens/revoke');
  return { value: undefined, detail: `revoked (${answer.ms} ms)` };
}

/** Runs the smoke test; `onStep` sees each step as it ends. Never throws for a failed step. */
export async function runSmoke(
  options: SmokeOptions,
  onStep: (result: StepResult) => void = () => {},
): Promise<SmokeOutcome> {
  const client = new AuthClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs });
  const runner = new StepRunner(onStep);
  try {
    await runner.run('health', () => health(client, options.waitMs));
    const app = await runner.run('app token', () => appToken(client, options.appToken));
    const session = await runner.run('mint session token', () => mintSession(client, app));
    await runner.run('verify session token', () => expectActive(client, session));
    let kept: string | undefined;
    if (options.keepTokens) {
      kept = await runner.run('mint session token to keep', () => mintSession(client, app));
    }
    await runner.run('revoke session token', () => revoke(client, session, session));
    await runner.run('verify revoked token', () =>
      expectInactive(client, session, options.revocationWindowMs),
    );
    if (kept !== undefined) {
      const keptToken = kept;
      await runner.run('verify kept token', () => expectActive(client, keptToken));
    }
    if (options.appToken.kind === 'admin' && !options.keepTokens) {
      await runner.run('revoke the app token made for the smoke test', () =>
        revoke(client, app, app),
      );
    }
    return {
      ok: true,
      steps: runner.steps,
      ...(kept !== undefined ? { kept: { active: kept, revoked: session } } : {}),
    };
  } catch (error) {
    if (error instanceof StepFailure) return { ok: false, steps: runner.steps };
    throw error;
  }
}

export interface CheckKeptOptions {
  readonly baseUrl: string;
  readonly tokens: KeptTokens;
  readonly timeoutMs: number;
  readonly waitMs: number;
}

/** After a restart: the service is healthy, the kept token still verifies, the revoked one does not. */
export async function checkKeptTokens(
  options: CheckKeptOptions,
  onStep: (result: StepResult) => void = () => {},
): Promise<SmokeOutcome> {
  const client = new AuthClient({ baseUrl: options.baseUrl, timeoutMs: options.timeoutMs });
  const runner = new StepRunner(onStep);
  try {
    await runner.run('health', () => health(client, options.waitMs));
    await runner.run('verify kept token', () => expectActive(client, options.tokens.active));
    await runner.run('verify revoked token', () =>
      expectInactive(client, options.tokens.revoked, 0),
    );
    return { ok: true, steps: runner.steps };
  } catch (error) {
    if (error instanceof StepFailure) return { ok: false, steps: runner.steps };
    throw error;
  }
}

/** Parses the JSON that a `keepTokens` run printed; throws a readable Error when it is not that. */
export function parseKeptTokens(text: string): KeptTokens {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error('kept tokens are not JSON; pass the object that `--keep-tokens` printed');
  }
  const active = field(value, 'active');
  const revoked = field(value, 'revoked');
  if (active === undefined || revoked === undefined) {
    throw new Error('kept tokens need string fields "active" and "revoked"');
  }
  return { active, revoked };
}
