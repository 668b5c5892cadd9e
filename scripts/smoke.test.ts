/**
 * The smoke test against a small fake of the auth API on loopback: what it accepts as healthy, and
 * that it stops with a reason at each kind of failure an operator meets after a deploy.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError, execute, parseCommand, type SmokeCommand } from './smoke.js';
import { runSmoke, type SmokeOptions } from './smoke-steps.js';

interface FakeOptions {
  healthStatus?: number;
  /** Milliseconds a revocation takes to be seen by verify; Infinity: never. */
  revocationDelayMs?: number;
  /** Requests to this path never get an answer. */
  hangOn?: string;
  adminToken?: string;
  customers?: string[];
}

interface Fake {
  url: string;
  calls: { method: string; path: string; authorization: string | undefined; body: unknown }[];
  revokedAt: Map<string, number>;
  close(): Promise<void>;
}

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

function json(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
  });
  res.end(JSON.stringify(body));
}

function problem(res: ServerResponse, status: number, code: string) {
  json(res, status, { status, title: code, detail: `fake: ${code}`, code });
}

async function readBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString();
  return text === '' ? undefined : JSON.parse(text);
}

/** Tokens are `<kind>.<n>`; an app token is `app.<customer>.<n>`. */
async function startFake(options: FakeOptions = {}): Promise<Fake> {
  const adminToken = options.adminToken ?? 'admin-secret';
  const customers = new Set(options.customers ?? ['c-1']);
  const live = new Map<string, { kind: string; cid: string }>([
    ['app.c-1.0', { kind: 'app', cid: 'c-1' }],
  ]);
  const revokedAt = new Map<string, number>();
  const calls: Fake['calls'] = [];
  let n = 0;
  const isRevoked = (token: string) => {
    const at = revokedAt.get(token);
    return at !== undefined && Date.now() - at >= (options.revocationDelayMs ?? 0);
  };
  const server = createServer((req, res) => {
    void (async () => {
      const body = await readBody(req);
      const path = req.url ?? '';
      calls.push({
        method: req.method ?? '',
        path,
        authorization: req.headers.authorization,
        body,
      });
      if (options.hangOn === path) return;
      const bearer = req.headers.authorization?.replace(/^Bearer /, '');
      const token = (body as { token?: string } | undefined)?.token;
      const customer = /^\/v1\/customers\/([^/]+)\/app-tokens$/.exec(path)?.[1];
      if (path === '/health') {
        const status = options.healthStatus ?? 200;
        return json(
          res,
          status,
          status === 200
            ? { status: 'ok', postgres: 'ok', redis: 'ok' }
            : { status: 'error', postgres: 'unreachable', redis: 'ok' },
        );
      }
      if (customer !== undefined) {
        if (bearer !== adminToken) return problem(res, 401, 'unauthorized');
        if (!customers.has(customer)) return problem(res, 404, 'customer_not_found');
        const app = `app.${customer}.${++n}`;
        live.set(app, { kind: 'app', cid: customer });
        return json(res, 201, { token: app, expires_at: '2027-11-28T00:00:00Z' });
      }
      if (path === '/v1/tokens') {
        const parent = bearer === undefined ? undefined : live.get(bearer);
        if (!parent || !bearer || isRevoked(bearer)) return problem(res, 401, 'invalid_token');
        const kind = (body as { kind: string }).kind;
        const child = `${kind}.${++n}`;
        live.set(child, { kind, cid: parent.cid });
        return json(res, 201, {
          token: child,
          kind,
          jti: `jti-${n}`,
          expires_at: '2026-11-28T20:00:00Z',
          scopes: [],
        });
      }
      if (path === '/v1/tokens/verify') {
        const t = token === undefined ? undefined : live.get(token);
        if (!t || !token || isRevoked(token)) return json(res, 200, { active: false });
        return json(res, 200, {
          active: true,
          kind: t.kind,
          cid: t.cid,
          sub: 'x',
          jti: 'j',
          scopes: [],
          exp: 0,
        });
      }
      if (path === '/v1/tokens/revoke') {
        if (!bearer || !live.has(bearer)) return problem(res, 401, 'invalid_token');
        if (token !== undefined && !revokedAt.has(token)) {
          revokedAt.set(token, Date.now());
        }
        return json(res, 200, {});
      }
      return problem(res, 404, 'not_found');
    })();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    revokedAt,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function options(fake: Fake, overrides: Partial<SmokeOptions> = {}): SmokeOptions {
  return {
    baseUrl: fake.url,
    appToken: { kind: 'given', token: 'app.c-1.0' },
    timeoutMs: 2000,
    waitMs: 0,
    revocationWindowMs: 1500,
    keepTokens: false,
    ...overrides,
  };
}

async function run(command: SmokeCommand) {
  const out: string[] = [];
  const err: string[] = [];
  const status = await execute(
    command,
    (l) => out.push(l),
    (l) => err.push(l),
  );
  return { status, out, err };
}

describe('smoke test, happy path', () => {
  it('passes against a healthy service and walks health → mint → verify → revoke → verify', async () => {
    const fake = await startFake();
    const outcome = await runSmoke(options(fake));
    expect(outcome.ok).toBe(true);
    expect(outcome.steps.map((s) => s.step)).toEqual([
      'health',
      'app token',
      'mint session token',
      'verify session token',
      'revoke session token',
      'verify revoked token',
    ]);
    const mint = fake.calls.find((c) => c.path === '/v1/tokens');
    expect(mint).toMatchObject({
      method: 'POST',
      authorization: 'Bearer app.c-1.0',
      body: { kind: 'session' },
    });
    const revoke = fake.calls.find((c) => c.path === '/v1/tokens/revoke');
    const session = (revoke?.body as { token: string }).token;
    expect(session).toMatch(/^session\./);
    // revoked with the session token itself, so the app token is never used to revoke
    expect(revoke?.authorization).toBe(`Bearer ${session}`);
  });

  it('prints each step on stdout, progress on stderr, and exits 0', async () => {
    const fake = await startFake();
    const { status, out, err } = await run({ mode: 'smoke', ...options(fake) });
    expect(status).toBe(0);
    expect(out.filter((l) => l.startsWith('ok   '))).toHaveLength(6);
    expect(out.at(-1)).toBe(`smoke: 6 steps passed against ${fake.url}`);
    expect(err).toEqual([`smoke: testing ${fake.url}`]);
  });

  it('makes an app token with the admin token for a customer, and revokes it at the end', async () => {
    const fake = await startFake();
    const outcome = await runSmoke(
      options(fake, { appToken: { kind: 'admin', adminToken: 'admin-secret', customerId: 'c-1' } }),
    );
    expect(outcome.ok).toBe(true);
    const created = fake.calls.find((c) => c.path === '/v1/customers/c-1/app-tokens');
    expect(created?.authorization).toBe('Bearer admin-secret');
    expect(outcome.steps.at(-1)?.step).toBe('revoke the app token made for the smoke test');
    expect([...fake.revokedAt.keys()].filter((t) => t.startsWith('app.'))).toHaveLength(1);
  });

  it('waits for a revocation that takes a moment to reach every worker', async () => {
    const fake = await startFake({ revocationDelayMs: 300 });
    const outcome = await runSmoke(options(fake));
    expect(outcome.ok).toBe(true);
    expect(outcome.steps.at(-1)?.detail).toMatch(/^inactive after \d+ ms$/);
  });

  it('keeps a token across a restart: kept stays active, revoked stays revoked', async () => {
    const fake = await startFake();
    const first = await run({ mode: 'smoke', ...options(fake, { keepTokens: true }) });
    expect(first.status).toBe(0);
    const line = first.out.find((l) => l.startsWith('kept-tokens: '));
    const kept = line?.slice('kept-tokens: '.length) ?? '';
    expect(JSON.parse(kept)).toEqual({
      active: expect.stringMatching(/^session\./),
      revoked: expect.stringMatching(/^session\./),
    });
    const check = await run({
      mode: 'check',
      baseUrl: fake.url,
      keptTokens: kept,
      timeoutMs: 2000,
      waitMs: 0,
    });
    expect(check.status).toBe(0);
    expect(check.out.slice(0, 3).map((l) => l.split(':')[0])).toEqual([
      'ok   health',
      'ok   verify kept token',
      'ok   verify revoked token',
    ]);
  });
});

describe('smoke test, failures stop at the first failing step with a reason', () => {
  it('an unhealthy service (503) fails at health and nothing else is tried', async () => {
    const fake = await startFake({ healthStatus: 503 });
    const { status, out, err } = await run({ mode: 'smoke', ...options(fake) });
    expect(status).toBe(1);
    expect(out).toHaveLength(1);
    expect(out[0]).toMatch(/^FAIL health: GET \/health answered HTTP 503/);
    expect(err.at(-1)).toMatch(/^smoke: FAILED at "health"/);
    expect(fake.calls.map((c) => c.path)).toEqual(['/health']);
  });

  it('nothing listening: says so and suggests checking the address', async () => {
    const fake = await startFake();
    await fake.close();
    const outcome = await runSmoke(options(fake));
    expect(outcome.ok).toBe(false);
    expect(outcome.steps[0]?.detail).toMatch(
      /GET http:\/\/127\.0\.0\.1:\d+\/health failed.*right address/,
    );
  });

  it('--wait keeps asking until the time is up', async () => {
    const fake = await startFake({ healthStatus: 503 });
    const started = Date.now();
    const outcome = await runSmoke(options(fake, { waitMs: 1200 }));
    expect(outcome.ok).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1200);
    expect(fake.calls.length).toBeGreaterThan(2);
  });

  it('a request that gets no answer times out', async () => {
    const fake = await startFake({ hangOn: '/v1/tokens/verify' });
    const outcome = await runSmoke(options(fake, { timeoutMs: 300 }));
    expect(outcome.ok).toBe(false);
    expect(outcome.steps.at(-1)).toMatchObject({ step: 'verify session token', ok: false });
    expect(outcome.steps.at(-1)?.detail).toMatch(/no answer within 300 ms/);
  });

  it("a rejected app token fails at mint with the service's problem code", async () => {
    const fake = await startFake();
    const outcome = await runSmoke(
      options(fake, { appToken: { kind: 'given', token: 'app.c-1.stolen' } }),
    );
    expect(outcome.steps.at(-1)).toMatchObject({ step: 'mint session token', ok: false });
    expect(outcome.steps.at(-1)?.detail).toMatch(/HTTP 401 \(invalid_token: fake: invalid_token\)/);
  });

  it('a revocation that never takes effect fails after the window', async () => {
    const fake = await startFake({ revocationDelayMs: Infinity });
    const outcome = await runSmoke(options(fake, { revocationWindowMs: 400 }));
    expect(outcome.steps.at(-1)).toMatchObject({ step: 'verify revoked token', ok: false });
    expect(outcome.steps.at(-1)?.detail).toMatch(/still verifies as active after 400 ms/);
  });

  it('an unknown customer or an admin API that is switched off names both causes', async () => {
    const fake = await startFake();
    const outcome = await runSmoke(
      options(fake, {
        appToken: { kind: 'admin', adminToken: 'admin-secret', customerId: 'nobody' },
      }),
    );
    expect(outcome.steps.at(-1)?.detail).toMatch(
      /customer does not exist or the service has no AUTH_ADMIN_TOKEN/,
    );
  });

  it('a kept token that no longer verifies fails the check', async () => {
    const fake = await startFake();
    const kept = JSON.stringify({ active: 'session.gone', revoked: 'session.also-gone' });
    const check = await run({
      mode: 'check',
      baseUrl: fake.url,
      keptTokens: kept,
      timeoutMs: 2000,
      waitMs: 0,
    });
    expect(check.status).toBe(1);
    expect(check.out.at(-1)).toMatch(/^FAIL verify kept token: .*not active/);
  });
});

describe('smoke command line', () => {
  it('takes the URL and the app token from SMOKE_APP_TOKEN', () => {
    expect(parseCommand(['http://auth:8001'], { SMOKE_APP_TOKEN: 'qa_x' })).toEqual({
      mode: 'smoke',
      baseUrl: 'http://auth:8001',
      appToken: { kind: 'given', token: 'qa_x' },
      timeoutMs: 5000,
      waitMs: 0,
      keepTokens: false,
    });
  });

  it('uses the admin token with --customer or SMOKE_CUSTOMER_ID when no app token is given', () => {
    const viaFlag = parseCommand(['http://a', '--customer', 'c-9'], { SMOKE_ADMIN_TOKEN: 'adm' });
    expect(viaFlag).toMatchObject({
      appToken: { kind: 'admin', adminToken: 'adm', customerId: 'c-9' },
    });
    const viaEnv = parseCommand(['http://a', '--wait', '30'], {
      SMOKE_ADMIN_TOKEN: 'adm',
      SMOKE_CUSTOMER_ID: 'c-8',
    });
    expect(viaEnv).toMatchObject({ appToken: { customerId: 'c-8' }, waitMs: 30_000 });
  });

  it.each([
    [[], {}, /exactly one <auth-url>/],
    [['auth:8001'], { SMOKE_APP_TOKEN: 't' }, /must be http\(s\)/],
    [['not a url'], { SMOKE_APP_TOKEN: 't' }, /is not a URL/],
    [['http://a'], {}, /no app token: set SMOKE_APP_TOKEN/],
    [['http://a'], { SMOKE_ADMIN_TOKEN: 'adm' }, /with --customer/],
    [['http://a', '--timeout', 'soon'], { SMOKE_APP_TOKEN: 't' }, /--timeout must be a number/],
    [['http://a', '--check-tokens'], {}, /SMOKE_KEPT_TOKENS, which is empty/],
    [['http://a', '--frobnicate'], { SMOKE_APP_TOKEN: 't' }, /frobnicate/],
  ])('refuses %j with a message that says what to do', (argv, env, message) => {
    expect(() => parseCommand(argv, env)).toThrow(UsageError);
    expect(() => parseCommand(argv, env)).toThrow(message);
  });

  it('refuses kept tokens that are not what --keep-tokens printed, with status 2', async () => {
    const { status, err } = await run({
      mode: 'check',
      baseUrl: 'http://127.0.0.1:9',
      keptTokens: '{"active":1}',
      timeoutMs: 100,
      waitMs: 0,
    });
    expect(status).toBe(2);
    expect(err[0]).toMatch(/need string fields "active" and "revoked"/);
  });
});
