/**
 * The fault scenarios (plus a baseline). Each runs while the load runs; the suite then
 * stops the load and audits the ledger. A scenario adds its own checks to its stats.
 */
import { execFileSync } from 'node:child_process';
import { createPublicKey } from 'node:crypto';
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { createAuthCore } from '../../service/src/auth-core.js';
import { loadConfig } from '../../service/src/config.js';
import { masterKeyId } from '../../service/src/crypto/master-keys.js';
import { createSql } from '../../service/src/db/postgres.js';
import { migrationsDir } from '../../service/src/db/migrations-dir.js';
import { readMigrations } from '../../service/src/db/migrate.js';
import { freePort } from '../../scripts/support/servers.js';
import { malformedRequests, rawRequests, sendRaw } from './abuse.js';
import { awaitRecovery, pool } from './audit.js';
import { newMasterKey, type Context } from './context.js';
import { forgeries } from './forgery.js';
import { call, isServerError } from './http.js';
import type { Load } from './load.js';
import { postmasterPid, stopPostgres } from './postgres-control.js';
import { descendantPids, runScript, ServiceProcess } from './service-process.js';
import { slowClients } from './slow-clients.js';
import type { ScenarioStats } from './stats.js';

export interface Scenario {
  name: string;
  /** Whether the service's workers must be the same processes at the end (no crash, no restart). */
  sameWorkers: boolean;
  /** Run by `npm run faults` only, not by the reduced run inside `npm test` (see its file). */
  fullOnly?: boolean;
  run(ctx: Context, stats: ScenarioStats, load: Load): Promise<void>;
}

const FILTER_READY_KEY = 'quint:auth:revoked:v1:ready';

function opErrors(
  stats: ScenarioStats,
  op: 'mint' | 'verify' | 'revoke',
  pred: (s: string) => boolean,
) {
  return Object.entries(stats.opStatuses(op))
    .filter(([s]) => pred(s))
    .reduce((n, [, v]) => n + v, 0);
}

function noServerErrors(stats: ScenarioStats, what: string, allow503 = false): void {
  const bad = (['mint', 'verify', 'revoke'] as const).map((op) => [
    op,
    opErrors(stats, op, (s) => isServerError(s) && !(allow503 && s === '503')),
  ]);
  const total = bad.reduce((n, [, v]) => n + (v as number), 0);
  stats.check(what, total === 0, bad.map(([op, n]) => `${op}: ${n}`).join(', '));
}

function noTimeouts(stats: ScenarioStats): void {
  const n = stats.statuses.get('timeout') ?? 0;
  stats.check('nothing hung past the 5 s client timeout', n === 0, `${n} timeouts`);
}

async function waitForFilterReady(ctx: Context, stats: ScenarioStats, timeoutMs = 15_000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    try {
      if ((await ctx.redisClient.exists(FILTER_READY_KEY)) === 1) {
        stats.check(
          'revocation filter rebuilt (ready marker back)',
          true,
          `${Date.now() - started} ms`,
        );
        return;
      }
    } catch {
      /* reconnecting */
    }
    await sleep(100);
  }
  stats.check('revocation filter rebuilt (ready marker back)', false, `not within ${timeoutMs} ms`);
}

/** Verifies unrevoked signed tokens directly (outside the load) and counts the answers. */
async function verifySample(ctx: Context, n: number): Promise<Record<string, number>> {
  const now = Date.now();
  const sample = ctx.ledger.entries
    .filter((e) => e.kind !== 'app' && ctx.ledger.expectation(e, now) === 'active')
    .slice(-n);
  const out: Record<string, number> = {};
  await pool(sample, 8, async (e) => {
    const res = await call(ctx.service.url, 'POST', '/v1/tokens/verify', {
      body: { token: e.token },
      timeoutMs: 5000,
    });
    // A token the load revoked meanwhile is no longer a valid token to ask about.
    if (ctx.ledger.expectation(e, Date.now()) !== 'active') return;
    const key =
      res.status === '200'
        ? (res.body as { active?: unknown }).active === true
          ? 'active'
          : 'inactive'
        : res.status;
    out[key] = (out[key] ?? 0) + 1;
  });
  return out;
}

export const baseline: Scenario = {
  name: '0 baseline',
  sameWorkers: true,
  async run(ctx, stats) {
    await sleep(ctx.profile.steadyMs * 2);
    noServerErrors(stats, 'no 5xx under steady load');
    noTimeouts(stats);
  },
};

export const redisRestartEmpty: Scenario = {
  name: '1 redis stopped, started empty',
  sameWorkers: true,
  async run(ctx, stats) {
    await sleep(ctx.profile.steadyMs);
    await ctx.redis.stop();
    ctx.log('  redis stopped');
    await sleep(ctx.profile.outageMs / 2);
    const during = await verifySample(ctx, 200);
    stats.check(
      'while Redis is down, valid tokens verify active (from Postgres)',
      (during.active ?? 0) > 0 && Object.keys(during).every((k) => k === 'active'),
      JSON.stringify(during),
    );
    await sleep(ctx.profile.outageMs / 2);
    await ctx.redis.start();
    const healed = Date.now();
    ctx.log('  redis started again, empty');
    await awaitRecovery(ctx, stats, healed);
    await waitForFilterReady(ctx, stats);
    await sleep(ctx.profile.steadyMs);
    noServerErrors(
      stats,
      'no 5xx: verification answered from Postgres, minting and revoking went on',
    );
    noTimeouts(stats);
  },
};

export const redisFlush: Scenario = {
  name: '2 redis flushed under load',
  sameWorkers: true,
  async run(ctx, stats) {
    await sleep(ctx.profile.steadyMs);
    for (let i = 0; i < ctx.profile.flushes; i++) {
      await ctx.redisClient.flushall();
      await sleep(ctx.profile.outageMs / ctx.profile.flushes);
    }
    const healed = Date.now();
    await awaitRecovery(ctx, stats, healed);
    await waitForFilterReady(ctx, stats);
    await sleep(ctx.profile.steadyMs);
    noServerErrors(stats, 'no 5xx across the flushes');
    noTimeouts(stats);
  },
};

export const postgresRestart: Scenario = {
  name: '3 postgres stopped, started',
  sameWorkers: true,
  async run(ctx, stats) {
    await sleep(ctx.profile.steadyMs);
    await stopPostgres(ctx.pg);
    ctx.log('  postgres stopped');
    await sleep(ctx.profile.outageMs / 2);
    const during = await verifySample(ctx, 200);
    const answered = during.active ?? 0;
    const total = Object.values(during).reduce((a, b) => a + b, 0);
    stats.check(
      'while Postgres is down, tokens the filter clears verify active (>= 90%)',
      total > 0 && answered / total >= 0.9,
      JSON.stringify(during),
    );
    const minted = await call(ctx.service.url, 'POST', '/v1/tokens', {
      body: { kind: 'session' },
      headers: {
        authorization: `Bearer ${[...ctx.ledger.appTokens.values()][0]?.token ?? ''}`,
      },
    });
    stats.count('probe', minted.status);
    stats.check(
      'while Postgres is down, minting answers 503 problem+json',
      minted.status === '503' && minted.contentType.startsWith('application/problem+json'),
      `${minted.status} ${minted.contentType}`,
    );
    await sleep(ctx.profile.outageMs / 2);
    await ctx.pg.start();
    const healed = Date.now();
    ctx.log('  postgres started again');
    await awaitRecovery(ctx, stats, healed);
    await sleep(ctx.profile.steadyMs);
    noServerErrors(stats, 'no 5xx other than 503', true);
    stats.check(
      'every 5xx was a 503 problem+json',
      stats.badServerErrors === 0,
      `${stats.badServerErrors} other`,
    );
    noTimeouts(stats);
  },
};

export const workerSigkill: Scenario = {
  name: '4 worker SIGKILLed',
  sameWorkers: false,
  async run(ctx, stats) {
    await sleep(ctx.profile.steadyMs);
    const before = ctx.service.workerPids();
    const victim = before[0];
    if (victim === undefined) throw new Error('no worker to kill');
    const errorsBefore = Object.values(stats.errors()).reduce((a, b) => a + b, 0);
    process.kill(victim, 'SIGKILL');
    const killedAt = Date.now();
    ctx.log(`  worker ${victim} killed`);
    let replaced = false;
    while (Date.now() - killedAt < 15_000) {
      const now = ctx.service.workerPids();
      if (now.length === before.length && !now.includes(victim)) {
        replaced = true;
        break;
      }
      await sleep(50);
    }
    stats.check('the killed worker was replaced', replaced, `${Date.now() - killedAt} ms`);
    await awaitRecovery(ctx, stats, killedAt);
    await sleep(ctx.profile.steadyMs);
    const failed = Object.values(stats.errors()).reduce((a, b) => a + b, 0) - errorsBefore;
    stats.check(
      'only requests in flight on the killed worker failed',
      failed <= ctx.profile.concurrency,
      `${failed} failed, ${ctx.profile.concurrency} load loops`,
    );
    noServerErrors(stats, 'no 5xx');
  },
};

/** Sends headers and half a body, and the rest when told: a request in flight for as long as we like. */
function slowVerify(port: number, token: string) {
  const body = JSON.stringify({ token });
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/v1/tokens/verify',
    agent: false,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  const result = new Promise<string>((resolve) => {
    req.on('response', (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve(`${res.statusCode} ${text}`));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });
  req.write(body.slice(0, 10));
  return { finish: () => req.end(body.slice(10)), result };
}

export const sigterm: Scenario = {
  name: '5 SIGTERM with requests in flight',
  sameWorkers: false,
  async run(ctx, stats, load) {
    await sleep(ctx.profile.steadyMs);
    const old = ctx.service;
    const token = ctx.ledger.entries.find(
      (e) => e.kind !== 'app' && ctx.ledger.expectation(e, Date.now()) === 'active',
    );
    if (!token) throw new Error('no active token for the in-flight requests');
    const slow = Array.from({ length: 4 }, () => slowVerify(old.port, token.token));
    await sleep(300);
    const pids = old.workerPids();
    old.signal('SIGTERM');
    const termAt = Date.now();
    ctx.log('  SIGTERM sent');
    await sleep(200);
    // New connections now must be refused or answered 503, promptly.
    const fresh = await Promise.all(
      Array.from({ length: 3 }, () =>
        call(old.url, 'GET', '/health', { timeoutMs: 3000, headers: { connection: 'close' } }),
      ),
    );
    for (const f of fresh) stats.count('probe', f.status);
    stats.check(
      'new connections after SIGTERM are refused or answered 503, not hung',
      fresh.every((f) => ['ECONNREFUSED', '503'].includes(f.status)),
      fresh.map((f) => `${f.status} in ${f.endedAt - f.startedAt} ms`).join(', '),
    );
    for (const s of slow) s.finish();
    const answers = await Promise.all(slow.map((s) => s.result));
    // The load goes on revoking tokens meanwhile, this one's ancestors among them: then
    // `{"active":false}` is the right answer, and the ledger knows a revocation was sent.
    const now = ctx.ledger.expectation(token, Date.now());
    stats.check(
      'requests in flight at SIGTERM completed with 200 and the answer the ledger expects',
      answers.every(
        (a) => a.startsWith('200 ') && (a.includes('"active":true') || now !== 'active'),
      ),
      `${answers.map((a) => a.slice(0, 40)).join(' | ')} (ledger: ${now})`,
    );
    const grace = Number(ctx.env.AUTH_SHUTDOWN_GRACE_MS);
    const exit = await old.waitExit(grace + 5000);
    stats.check(
      'the service exited 0 within its grace period',
      exit !== undefined && exit.code === 0 && Date.now() - termAt <= grace,
      exit
        ? `code ${exit.code}, ${Date.now() - termAt} ms after SIGTERM (grace ${grace} ms)`
        : 'still running',
    );
    await sleep(200);
    const left = [...old.leftovers(), ...pids.filter((p) => old.leftovers().includes(p))];
    stats.check(
      'no process of the stopped service left',
      left.length === 0,
      left.join(',') || 'none',
    );
    const next = new ServiceProcess(`auth-${ctx.instances.length + 1}`, old.port, ctx.env);
    ctx.instances.push(next);
    const restartAt = Date.now();
    await next.start();
    ctx.service = next;
    load.setTargets([next.url]);
    ctx.log(`  restarted in ${Date.now() - restartAt} ms`);
    await awaitRecovery(ctx, stats, termAt);
    await sleep(ctx.profile.steadyMs);
    noServerErrors(stats, 'no 5xx other than 503 while stopping', true);
  },
};

export const bootstrapAndMigrate: Scenario = {
  name: '6 bootstrap x3 + migrate x4',
  sameWorkers: true,
  async run(ctx, stats) {
    const files = readMigrations(migrationsDir());
    // Four migrates at once on an empty database: every file applied exactly once.
    const name = `faults_migrate_${Date.now()}`;
    await ctx.sql.unsafe(`CREATE DATABASE ${name}`);
    const freshUrl = new URL(ctx.databaseUrl);
    freshUrl.pathname = `/${name}`;
    const migrates = await Promise.all([
      ...Array.from({ length: 4 }, () =>
        runScript('scripts/migrate.ts', { AUTH_DATABASE_URL: freshUrl.toString() }),
      ),
      // and four more on the live database, under load: nothing to do, nothing broken
      ...Array.from({ length: 4 }, () =>
        runScript('scripts/migrate.ts', { AUTH_DATABASE_URL: ctx.databaseUrl }),
      ),
    ]);
    stats.check(
      'eight concurrent migrates exited 0',
      migrates.every((m) => m.code === 0),
      migrates
        .map((m) => (m.code === 0 ? 0 : `${m.code}: ${m.stderr.trim().split('\n').pop()}`))
        .join(', '),
    );
    const applied = migrates
      .slice(0, 4)
      .map((m) => {
        try {
          return (
            (JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { applied?: string[] })
              .applied ?? []
          );
        } catch {
          return [];
        }
      })
      .flat();
    stats.check(
      'on the empty database each migration was applied by exactly one of the four',
      applied.length === files.length && new Set(applied).size === files.length,
      `${applied.length} applications of ${files.length} files`,
    );
    const fresh = createSql(freshUrl.toString(), { max: 1 });
    try {
      const [row] = await fresh<{ n: number; d: number }[]>`
        SELECT count(*)::int AS n, count(DISTINCT version)::int AS d FROM public.schema_migrations`;
      stats.check(
        'schema_migrations holds each file once',
        row?.n === files.length && row?.d === files.length,
        JSON.stringify(row),
      );
    } finally {
      await fresh.end({ timeout: 2 });
    }
    const liveApplied = migrates
      .slice(4)
      .map((m) => m.stdout.includes('"applied":[]'))
      .every(Boolean);
    stats.check('on the live database the migrates found nothing to do', liveApplied);

    // Three bootstraps at once over new customers: exactly one active app token each.
    const ids: string[] = [];
    for (let i = 0; i < ctx.profile.bootstrapCustomers; i++) {
      const [row] = await ctx.sql<{ id: string }[]>`
        INSERT INTO public.customers (name) VALUES (${`bootstrap-${i}`}) RETURNING id::text`;
      ids.push((row as { id: string }).id);
    }
    const boots = await Promise.all(
      Array.from({ length: 3 }, () => runScript('scripts/bootstrap_auth.ts', ctx.env)),
    );
    stats.check(
      'three concurrent bootstraps exited 0',
      boots.every((b) => b.code === 0),
      boots
        .map((b) => (b.code === 0 ? 0 : `${b.code}: ${b.stderr.trim().split('\n').pop()}`))
        .join(', '),
    );
    const lines = boots
      .flatMap((b) => b.stdout.split('\n'))
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { customer_id: string; app_token: string; expires_at: string });
    const printed = new Set(lines.map((l) => l.customer_id));
    stats.check(
      'one app token printed per new customer, none for the others',
      lines.length === ids.length && ids.every((id) => printed.has(id)),
      `${lines.length} lines for ${ids.length} new customers`,
    );
    const counts = await ctx.sql<{ id: string; n: number }[]>`
      SELECT c.id::text AS id, count(t.id)::int AS n
      FROM public.customers c
      LEFT JOIN auth.app_tokens t
        ON t.customer_id = c.id AND t.revoked_at IS NULL AND t.expires_at > now()
      GROUP BY c.id`;
    const wrong = counts.filter((c) => c.n !== 1);
    stats.check(
      'every customer has exactly one active app token',
      wrong.length === 0,
      `${counts.length} customers, ${wrong.length} without exactly one`,
    );
    for (const line of lines) {
      const v = await call(ctx.service.url, 'POST', '/v1/tokens/verify', {
        body: { token: line.app_token },
      });
      stats.count('verify', v.status);
      const body = v.body as { active?: boolean; jti?: string };
      if (v.status === '200' && body.active === true && body.jti) {
        ctx.ledger.add({
          token: line.app_token,
          jti: body.jti,
          kind: 'app',
          customerId: line.customer_id,
          parent: undefined,
          depth: 0,
          expMs: Date.parse(line.expires_at),
          mintedAt: Date.now(),
        });
      } else {
        stats.validWronglyRefused++;
        stats.sample(`bootstrap token for ${line.customer_id} does not verify: ${v.status}`);
      }
    }
    await ctx.sql.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    noServerErrors(stats, 'no 5xx');
  },
};

export const masterKeyRotation: Scenario = {
  name: '7 master-key rotation',
  sameWorkers: false,
  async run(ctx, stats, load) {
    await sleep(ctx.profile.steadyMs);
    const oldKey = ctx.env.AUTH_MASTER_KEY as string;
    const newKey = newMasterKey();
    const a = ctx.service;
    // Step 1: a rolling restart onto the new key, the old one kept as AUTH_MASTER_KEY_PREVIOUS.
    const rotatingEnv = { ...ctx.env, AUTH_MASTER_KEY: newKey, AUTH_MASTER_KEY_PREVIOUS: oldKey };
    const b = new ServiceProcess(`auth-${ctx.instances.length + 1}`, await freePort(), rotatingEnv);
    ctx.instances.push(b);
    await b.start();
    load.setTargets([a.url, b.url]);
    await sleep(ctx.profile.steadyMs);
    load.setTargets([b.url]);
    ctx.service = b;
    stats.check('the old instance drained before it stopped', await load.drained(a.url));
    a.signal('SIGTERM');
    const aExit = await a.waitExit(15_000);
    stats.check('the old instance exited 0', aExit?.code === 0, JSON.stringify(aExit));
    ctx.log('  rolled onto the new master key (old one as AUTH_MASTER_KEY_PREVIOUS)');
    // Step 2: re-encrypt every signing key under the new key, under load.
    const rotation = await runScript('scripts/rotate-master-key.ts', rotatingEnv);
    stats.check(
      'rotate-master-key exited 0',
      rotation.code === 0,
      rotation.code === 0 ? rotation.stdout.trim() : rotation.stderr.trim().split('\n').pop(),
    );
    const ids = await ctx.sql<{ master_key_id: string; n: number }[]>`
      SELECT master_key_id, count(*)::int AS n FROM auth.signing_keys GROUP BY master_key_id`;
    stats.check(
      'every signing key is now under the new master key',
      ids.length === 1 && ids[0]?.master_key_id === masterKeyId(Buffer.from(newKey, 'base64')),
      JSON.stringify(ids),
    );
    await sleep(ctx.profile.steadyMs);
    // Step 3: another rolling restart, without the previous key.
    ctx.env.AUTH_MASTER_KEY = newKey;
    delete ctx.env.AUTH_MASTER_KEY_PREVIOUS;
    const c = new ServiceProcess(`auth-${ctx.instances.length + 1}`, await freePort(), ctx.env);
    ctx.instances.push(c);
    await c.start();
    load.setTargets([b.url, c.url]);
    await sleep(ctx.profile.steadyMs);
    load.setTargets([c.url]);
    ctx.service = c;
    stats.check('the rotating instance drained before it stopped', await load.drained(b.url));
    b.signal('SIGTERM');
    const bExit = await b.waitExit(15_000);
    stats.check('the rotating instance exited 0', bExit?.code === 0, JSON.stringify(bExit));
    ctx.log('  rolled onto the new master key alone');
    await sleep(ctx.profile.steadyMs);
    // A mint refused 401 is judged by the load against the ledger: a parent whose lineage the
    // load revoked meanwhile is rightly refused, and a valid one counts as "valid refused", which
    // fails the scenario by itself. Any other status but 200 or 201 is a failure here.
    const failures = (['mint', 'verify', 'revoke'] as const).map(
      (op) =>
        [
          op,
          opErrors(stats, op, (s) => s !== '200' && s !== '201' && !(op === 'mint' && s === '401')),
        ] as const,
    );
    const refused = opErrors(stats, 'mint', (s) => s === '401');
    stats.check(
      'no verify, mint or revoke failed during or after the rotation',
      failures.every(([, n]) => n === 0) && stats.validWronglyRefused === 0,
      `${failures.map(([op, n]) => `${op}: ${n}`).join(', ')}; mints refused 401: ${refused}, ` +
        `valid tokens refused, by the ledger: ${stats.validWronglyRefused}`,
    );
  },
};

export const abuse: Scenario = {
  name: '8 abuse: malformed + forged',
  sameWorkers: true,
  async run(ctx, stats) {
    const apps = [...ctx.ledger.appTokens.values()].filter(
      (e) => ctx.ledger.expectation(e, Date.now()) === 'active',
    );
    const [appA, appB] = apps;
    if (!appA || !appB) throw new Error('two customers with app tokens are needed');
    const mint = async (parent: string) => {
      const res = await call(ctx.service.url, 'POST', '/v1/tokens', {
        body: { kind: 'bearer', scopes: ['read'] },
        headers: { authorization: `Bearer ${parent}` },
      });
      if (res.status !== '201') throw new Error(`mint for abuse material: ${res.status}`);
      return (res.body as { token: string }).token;
    };
    const bearerA = await mint(appA.token);
    const victim = await mint(appA.token);
    // The customers' private keys, read as the service reads them, to sign bad claims.
    const config = loadConfig(ctx.env);
    const core = createAuthCore(config, ctx.sql, ctx.redisClient);
    const keyA = await core.keys.signingKey(appA.customerId);
    const keyB = await core.keys.signingKey(appB.customerId);
    const jwks = await call(ctx.service.url, 'GET', '/.well-known/jwks.json');
    const jwkA = (jwks.body as { keys: Record<string, string>[] }).keys.find(
      (k) => k.kid === keyA.kid,
    );
    if (!jwkA) throw new Error('A’s key is not in the JWKS');
    const forged = forgeries(
      {
        bearerA,
        appTokenA: appA.token,
        kidA: keyA.kid,
        kidB: keyB.kid,
        customerA: appA.customerId,
        customerB: appB.customerId,
        privateKeyA: keyA.privateKey,
        privateKeyB: keyB.privateKey,
        jwkA,
        publicPemA: createPublicKey(keyA.privateKey)
          .export({ format: 'pem', type: 'spki' })
          .toString(),
      },
      ctx.profile.mutations,
    );
    let accepted = 0;
    const headerSafe = (t: string) => /^[\x21-\x7e]+$/.test(t) && t.length < 12_000;
    await pool(forged, 12, async (f) => {
      const v = await call(ctx.service.url, 'POST', '/v1/tokens/verify', {
        body: { token: f.token },
      });
      stats.count('abuse', v.status);
      if (isServerError(v.status)) stats.sample(`forged "${f.name}" → verify ${v.status}`);
      if (v.status === '200' && (v.body as { active?: unknown }).active !== false) {
        accepted++;
        stats.sample(`FORGED ACCEPTED by verify: ${f.name}`);
      }
      if (!headerSafe(f.token)) return;
      const m = await call(ctx.service.url, 'POST', '/v1/tokens', {
        body: { kind: 'session' },
        headers: { authorization: `Bearer ${f.token}` },
      });
      stats.count('abuse', m.status);
      if (isServerError(m.status)) stats.sample(`forged "${f.name}" → mint ${m.status}`);
      if (m.status === '201') {
        accepted++;
        stats.sample(`FORGED ACCEPTED as a parent: ${f.name}`);
      }
      const r = await call(ctx.service.url, 'POST', '/v1/tokens/revoke', {
        body: { token: victim },
        headers: { authorization: `Bearer ${f.token}` },
      });
      stats.count('abuse', r.status);
      if (r.status === '200') {
        accepted++;
        stats.sample(`FORGED ACCEPTED as a revoker: ${f.name}`);
      }
    });
    stats.check(
      'zero forged tokens accepted',
      accepted === 0,
      `${forged.length} forged tokens, ${accepted} accepted`,
    );

    const malformed = malformedRequests(
      {
        appToken: appA.token,
        bearer: bearerA,
        adminToken: ctx.adminToken,
        customerId: appA.customerId,
      },
      ctx.profile.malformed,
      ctx.profile.seed,
    );
    await pool(malformed, 12, async (req) => {
      const res = await call(ctx.service.url, req.method, req.path, {
        headers: req.headers,
        ...(req.body === undefined ? {} : { rawBody: req.body }),
      });
      stats.count('abuse', res.status);
      if (isServerError(res.status) || res.status === 'timeout') {
        stats.sample(`${req.name} → ${res.status} ${JSON.stringify(res.body).slice(0, 120)}`);
      }
    });
    const raw = rawRequests(ctx.service.port);
    const rawResults: string[] = [];
    await pool(raw, 8, async (r) => {
      const statuses = await sendRaw(ctx.service.port, r.bytes);
      for (const s of statuses)
        stats.count('abuse', s === 'closed' || s === 'no-answer' ? `raw-${s}` : s);
      rawResults.push(`${r.name}: ${statuses.join('+')}`);
      if (statuses.some(isServerError)) stats.sample(`raw ${r.name} → ${statuses.join('+')}`);
    });
    const abuseStatuses = stats.opStatuses('abuse');
    const fiveXx = Object.entries(abuseStatuses)
      .filter(([s]) => isServerError(s))
      .reduce((n, [, v]) => n + v, 0);
    const total = Object.values(abuseStatuses).reduce((a, b) => a + b, 0);
    stats.check(
      'zero 5xx to abusive requests',
      fiveXx === 0,
      `${total} abusive requests, ${fiveXx} 5xx`,
    );
    const timeouts = abuseStatuses.timeout ?? 0;
    stats.check('no abusive request hung', timeouts === 0, `${timeouts} timeouts`);
    for (const [name, token] of [
      ['the genuine bearer', bearerA],
      ['the revocation target', victim],
    ] as const) {
      const v = await call(ctx.service.url, 'POST', '/v1/tokens/verify', { body: { token } });
      stats.check(
        `${name} still verifies active`,
        (v.body as { active?: unknown })?.active === true,
        v.status,
      );
    }
    stats.check('service healthy after the abuse', await ctx.service.healthy());
  },
};

/**
 * Pids to freeze with SIGSTOP: Redis itself, or Postgres' backends and helpers (not the
 * postmaster, whose fast shutdown can stall after a freeze). The service's pooled connections
 * then stay open and get no answer, as in a partition that drops packets.
 */
function serverPids(ctx: Context, which: 'postgres' | 'redis'): number[] {
  if (which === 'postgres') {
    const pid = postmasterPid(ctx.pg);
    return pid === undefined ? [] : descendantPids(pid);
  }
  const out = execFileSync('ps', ['-e', '-o', 'pid=,args='], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes('redis-server') && l.includes(`:${ctx.redis.port}`))
    .map((l) => Number(l.trim().split(/\s+/)[0]))
    .filter((n) => Number.isInteger(n) && n > 0);
}

function freezer(which: 'postgres' | 'redis'): Scenario {
  return {
    name: which === 'postgres' ? '9 postgres backends frozen' : '10 redis frozen',
    sameWorkers: true,
    async run(ctx, stats) {
      await sleep(ctx.profile.steadyMs);
      const pids = serverPids(ctx, which);
      if (pids.length === 0) throw new Error(`no ${which} process found`);
      for (const pid of pids) process.kill(pid, 'SIGSTOP');
      ctx.log(`  ${which} frozen (${pids.length} processes)`);
      try {
        await sleep(ctx.profile.outageMs);
      } finally {
        for (const pid of pids) {
          try {
            process.kill(pid, 'SIGCONT');
          } catch {
            /* gone */
          }
        }
      }
      const healed = Date.now();
      ctx.log(`  ${which} thawed`);
      await awaitRecovery(ctx, stats, healed);
      await sleep(ctx.profile.steadyMs);
      noServerErrors(stats, 'no 5xx other than 503', which === 'postgres');
      noTimeouts(stats);
    },
  };
}

export const postgresFrozen = freezer('postgres');
export const redisFrozen = freezer('redis');

export const SCENARIOS: Scenario[] = [
  baseline,
  redisRestartEmpty,
  redisFlush,
  postgresRestart,
  workerSigkill,
  sigterm,
  bootstrapAndMigrate,
  masterKeyRotation,
  abuse,
  postgresFrozen,
  redisFrozen,
  slowClients,
];
