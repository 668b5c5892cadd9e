/**
 * Revocation under broken Redis and Postgres: the filter never answers "not revoked" for a
 * revoked token, Postgres answers while Redis cannot, and verify answers 503 (never active:true)
 * when neither can. The outages are run twice: with the worker's copy of the revoked ids (as
 * deployed) and without it (every check asks the Redis filter). The tests of the Redis path's own
 * memory run without it, since the copy answers before that path is reached.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startPostgres, startRedis, type ManagedServer } from '../../../scripts/support/servers.js';
import {
  createMigratedDatabase,
  createTestStack,
  type TestStack,
} from '../../../test/support/fixtures.js';
import { eventually } from '../../../test/support/eventually.js';

let redis: ManagedServer;
let pg: ManagedServer;
interface Ctx {
  s: TestStack;
  app: string;
}
/** As deployed: the worker's copy of the revoked ids answers first. */
let withCopy: Ctx;
/** The worker's copy turned off: every check goes to the Redis filter. */
let withoutCopy: Ctx;
/** The stack the tests of the enclosing describe use (see `use`). */
let s: TestStack;
let app: string;

function use(ctx: () => Ctx): void {
  beforeAll(() => {
    ({ s, app } = ctx());
  });
}

const revoke = (token: string, by = app) => s.revoke(by, token);

/**
 * What a worker that lost its pub/sub connection would miss: Postgres and the filter get the
 * revocation of `agent`, and no worker is told.
 */
async function revokeUnannounced(agent: { jti: string; expires_at: string }) {
  const exp = Math.floor(new Date(agent.expires_at).getTime() / 1000);
  await s.core.revocations.revoke({
    jti: agent.jti,
    exp,
    customerId: (await s.core.verifier.authenticate(app)).cid,
    kind: 'agent',
    revokedBy: 'test',
  });
  await s.core.filter.add([{ jti: agent.jti, exp }]);
}

/** Records the ids the filter is asked about until `restore`. */
function recordChecks(): { asked: string[][]; restore: () => void } {
  const asked: string[][] = [];
  const check = s.core.filter.check.bind(s.core.filter);
  const spy = vi.spyOn(s.core.filter, 'check').mockImplementation((ids) => {
    asked.push([...ids]);
    return check(ids);
  });
  return { asked, restore: () => spy.mockRestore() };
}

async function verifyStatus(token: string) {
  const res = await s.app.inject({ method: 'POST', url: '/v1/tokens/verify', payload: { token } });
  return {
    status: res.statusCode,
    active: res.statusCode === 200 ? res.json<{ active: boolean }>().active : undefined,
  };
}

async function stack(copyTrustMs?: number): Promise<Ctx> {
  const db = await createMigratedDatabase(pg.url);
  const stack = await createTestStack({
    redisUrl: redis.url,
    databaseUrl: db.url,
    ...(copyTrustMs === undefined ? {} : { revocationCopy: { trustMs: copyTrustMs } }),
  });
  return { s: stack, app: (await stack.appToken()).token };
}

beforeAll(async () => {
  [redis, pg] = await Promise.all([startRedis(), startPostgres()]);
  [withCopy, withoutCopy] = await Promise.all([stack(), stack(0)]);
  await eventually(() => withCopy.s.core.checker.copyTrusted, 5000, 'a trusted copy');
});
afterAll(async () => {
  await Promise.all([withCopy?.s.close(), withoutCopy?.s.close()]);
  await Promise.all([redis?.destroy(), pg?.destroy()]);
});

describe.each([
  ['with the worker copy (as deployed)', () => withCopy],
  ['without the worker copy', () => withoutCopy],
])('%s', (_, ctx) => {
  use(ctx);

  describe('revocation survives Redis losing its data', () => {
    it('after FLUSHALL a revoked token stays revoked, and the filter is rebuilt from Postgres', async () => {
      const revoked = await s.mint(app, { kind: 'session' });
      const child = await s.mint(revoked.token, { kind: 'override' });
      const live = await s.mint(app, { kind: 'session' });
      await revoke(revoked.token);
      await s.redis.flushall();
      expect((await s.verify(revoked.token)).active).toBe(false);
      expect((await s.verify(child.token)).active).toBe(false);
      expect((await s.verify(live.token)).active).toBe(true);
      await eventually(() => s.core.filter.isReady());
      // Rebuilt: the filter itself now says "maybe" for the revoked id and "clear" for the live one.
      expect(await s.core.filter.check([revoked.jti])).toBe('maybe');
      expect(await s.core.filter.check([live.jti])).toBe('clear');
    });

    it('after Redis restarts empty (no persistence) revoked tokens stay revoked', async () => {
      const revoked = await s.mint(app, { kind: 'agent' });
      await revoke(revoked.token);
      await redis.stop();
      await redis.start();
      expect((await s.verify(revoked.token)).active).toBe(false);
      await eventually(async () => (await s.redis.ping().catch(() => '')) === 'PONG');
      expect((await s.verify(revoked.token)).active).toBe(false);
    });
  });

  describe('while Redis is down', () => {
    it('Postgres answers: valid tokens verify, revoked ones do not, revocations are recorded', async () => {
      const live = await s.mint(app, { kind: 'bearer' });
      const before = await s.mint(app, { kind: 'bearer' });
      await revoke(before.token);
      const during = await s.mint(app, { kind: 'bearer' });
      await redis.stop();
      try {
        expect(await verifyStatus(live.token)).toEqual({ status: 200, active: true });
        expect(await verifyStatus(before.token)).toEqual({ status: 200, active: false });
        await revoke(during.token);
        expect(await verifyStatus(during.token)).toEqual({ status: 200, active: false });
      } finally {
        await redis.start();
      }
      // Redis is back but knows nothing of the revocation made while it was down.
      await eventually(
        async () =>
          s.core.checker.filterTrusted && (await s.redis.ping().catch(() => '')) === 'PONG',
      );
      expect((await s.verify(during.token)).active).toBe(false);
      expect((await s.verify(before.token)).active).toBe(false);
      expect((await s.verify(live.token)).active).toBe(true);
    });
  });

  describe('while Postgres is down', () => {
    it('minting answers 503 problem+json; tokens the filter clears still verify; a "maybe" is 503, never active', async () => {
      const live = await s.mint(app, { kind: 'session' });
      const revoked = await s.mint(app, { kind: 'session' });
      await revoke(revoked.token);
      await eventually(() => s.core.filter.isReady());
      expect((await s.verify(live.token)).active).toBe(true);
      await pg.stop();
      try {
        const mint = await s.app.inject({
          method: 'POST',
          url: '/v1/tokens',
          headers: { authorization: `Bearer ${live.token}` },
          payload: { kind: 'override' },
        });
        expect(mint.statusCode).toBe(503);
        expect(mint.headers['content-type']).toMatch(/application\/problem\+json/);
        expect(mint.json()).toMatchObject({ status: 503, code: 'dependency_unavailable' });
        expect(JSON.stringify(mint.json())).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres:/i);

        expect(await verifyStatus(live.token)).toEqual({ status: 200, active: true });
        // Revoked ids are remembered by the worker that saw them; a fresh worker would ask Postgres.
        expect((await verifyStatus(revoked.token)).active).not.toBe(true);

        const health = await s.app.inject({ method: 'GET', url: '/health' });
        expect(health.statusCode).toBe(503);
        expect(health.json()).toMatchObject({ postgres: 'unavailable', redis: 'ok' });
      } finally {
        await pg.start();
      }
      await eventually(
        async () => (await s.app.inject({ method: 'GET', url: '/health' })).statusCode === 200,
        10_000,
      );
      const again = await s.mint(live.token, { kind: 'override' });
      expect((await s.verify(again.token)).active).toBe(true);
    });

    it('with Redis and Postgres both down, verify answers 503 rather than guess', async () => {
      const live = await s.mint(app, { kind: 'session' });
      const fresh = `${live.token}`;
      s.core.checker.setListening(false); // nothing remembered
      await Promise.all([redis.stop(), pg.stop()]);
      try {
        const res = await s.app.inject({
          method: 'POST',
          url: '/v1/tokens/verify',
          payload: { token: fresh },
        });
        expect(res.statusCode).toBe(503);
        expect(res.json()).toMatchObject({ code: 'dependency_unavailable' });
      } finally {
        await Promise.all([redis.start(), pg.start()]);
      }
      await eventually(
        async () => (await s.app.inject({ method: 'GET', url: '/health' })).statusCode === 200,
        10_000,
      );
    });
  });
});

describe('without the worker copy', () => {
  use(() => withoutCopy);

  describe('the record stays bounded', () => {
    it('prune deletes revocations of tokens that expired over a day ago, and only those', async () => {
      const live = await s.mint(app, { kind: 'session' });
      await revoke(live.token);
      const cid = String((await s.verify(app)).cid);
      await s.sql`
      INSERT INTO auth.revocations (jti, customer_id, kind, expires_at, revoked_by)
      SELECT 'old-' || g, ${cid}::uuid, 'session',
             now() - interval '2 days', 'test'
      FROM generate_series(1, 3) g`;
      expect(await s.core.revocations.prune()).toBe(3);
      expect(await s.core.revocations.revokedAmong([live.jti])).toEqual([live.jti]);
    });
  });

  describe('the filter under a burst of revocations', () => {
    it('adds thousands of entries in a handful of commands, so a resync cannot outlive the command timeout', async () => {
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const { newTokenId } = await import('../../src/tokens/ids.js');
      const entries = Array.from({ length: 20_000 }, () => ({ jti: newTokenId(exp), exp }));
      const stats = async () =>
        Number(/total_commands_processed:(\d+)/.exec(await s.redis.info('stats'))?.[1]);
      const before = await stats();
      await s.core.filter.add(entries);
      const commands = (await stats()) - before;
      expect(commands).toBeLessThan(100);
      for (const e of entries.slice(0, 50))
        expect(await s.core.filter.check([e.jti])).not.toBe('clear');
    });
  });

  describe('checks asked for at the same time', () => {
    const stats = async () =>
      Number(/total_commands_processed:(\d+)/.exec(await s.redis.info('stats'))?.[1]);

    it('go to Redis together and each gets its own answer', async () => {
      const { newTokenId } = await import('../../src/tokens/ids.js');
      const now = Math.floor(Date.now() / 1000);
      const [dayOne, dayTwo] = [now + 3600, now + 3 * 86_400];
      const revoked = [newTokenId(dayOne), newTokenId(dayTwo)];
      await s.core.filter.add(revoked.map((jti, i) => ({ jti, exp: i === 0 ? dayOne : dayTwo })));
      // 300 checks (more than one round trip holds), of one to three ids over both days; every
      // seventh includes a revoked id somewhere in its lineage.
      const checks = Array.from({ length: 300 }, (_, i) => {
        const ids = [newTokenId(i % 2 ? dayOne : dayTwo), newTokenId(dayTwo)].slice(0, 1 + (i % 2));
        if (i % 7 === 0) ids.splice(i % 3 === 0 ? 0 : ids.length, 0, revoked[i % 2]!);
        return { ids, revoked: i % 7 === 0 };
      });
      const before = await stats();
      const answers = await Promise.all(checks.map((c) => s.core.filter.check(c.ids)));
      const commands = (await stats()) - before - 1; // the second INFO counts itself
      expect(answers).toEqual(checks.map((c) => (c.revoked ? 'maybe' : 'clear')));
      // Two round trips of EXISTS + one BITFIELD per day, instead of 300 × 2 or more.
      expect(commands).toBe(6);
    });

    it('all answer "unready" when the filter has not been built', async () => {
      const { RevocationFilter } = await import('../../src/revocation/revocation-filter.js');
      const { newTokenId } = await import('../../src/tokens/ids.js');
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const empty = new RevocationFilter(s.redis, { prefix: `${s.prefix}:never-built` });
      const answers = await Promise.all(
        Array.from({ length: 10 }, () => empty.check([newTokenId(exp)])),
      );
      expect(answers).toEqual(Array(10).fill('unready'));
    });

    it('all fail when Redis cannot answer; none is taken for "clear"', async () => {
      const { RevocationFilter } = await import('../../src/revocation/revocation-filter.js');
      const { createRedis } = await import('../../src/redis.js');
      const { newTokenId } = await import('../../src/tokens/ids.js');
      const gone = createRedis('redis://127.0.0.1:1');
      gone.on('error', () => {});
      try {
        const filter = new RevocationFilter(gone, { prefix: `${s.prefix}:gone` });
        const exp = Math.floor(Date.now() / 1000) + 3600;
        const outcomes = await Promise.allSettled(
          Array.from({ length: 5 }, () => filter.check([newTokenId(exp)])),
        );
        expect(outcomes.map((o) => o.status)).toEqual(Array(5).fill('rejected'));
      } finally {
        gone.disconnect();
      }
    });

    it('an id that is not one of ours is "maybe" at once, without Redis', async () => {
      const before = await stats();
      expect(await s.core.filter.check(['not-a-token-id'])).toBe('maybe');
      expect((await stats()) - before - 1).toBe(0);
    });

    it('while a round trip is out, checks asked for meanwhile gather and go in one more', async () => {
      const { newTokenId } = await import('../../src/tokens/ids.js');
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const revoked = newTokenId(exp);
      await s.core.filter.add([{ jti: revoked, exp }]);
      // The same filter on a connection of its own, so that its round trips can be counted (the
      // worker's maintenance uses the stack's connection meanwhile).
      const { RevocationFilter } = await import('../../src/revocation/revocation-filter.js');
      const [own, admin] = [s.redis.duplicate(), s.redis.duplicate()];
      await Promise.all(
        [own, admin].map((c) => new Promise((resolve) => c.once('ready', resolve))),
      );
      const filter = new RevocationFilter(own, { prefix: `${s.prefix}:revoked` });
      const pipelines = vi.spyOn(own, 'pipeline');
      try {
        // A slow Redis: the first round trip stays out for 300 ms (another client pauses it).
        await admin.call('CLIENT', 'PAUSE', '300', 'ALL');
        const first = filter.check([newTokenId(exp)]);
        const later: Promise<string>[] = [];
        // Thirty checks over ten turns of the event loop, each of which would have been a round
        // trip of its own; every fifth is the revoked id.
        for (let turn = 0; turn < 10; turn++) {
          await new Promise((resolve) => setImmediate(resolve));
          for (let i = 0; i < 3; i++) {
            later.push(filter.check([later.length % 5 === 0 ? revoked : newTokenId(exp)]));
          }
        }
        expect(await first).toBe('clear');
        const answers = await Promise.all(later);
        expect(answers).toEqual(later.map((_, i) => (i % 5 === 0 ? 'maybe' : 'clear')));
        expect(pipelines).toHaveBeenCalledTimes(2);
      } finally {
        own.disconnect();
        admin.disconnect();
      }
    });
  });

  describe('clear answers remembered per id', () => {
    it('a new token whose ancestors were just found clear costs the check of its own id only', async () => {
      const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
      const [first, second] = [
        await s.mint(agent.token, { kind: 'subagent', subject: 'a' }),
        await s.mint(agent.token, { kind: 'subagent', subject: 'b' }),
      ];
      const { asked, restore } = recordChecks();
      try {
        expect((await s.verify(first.token)).active).toBe(true);
        expect((await s.verify(second.token)).active).toBe(true);
      } finally {
        restore();
      }
      expect(asked.at(-1)).toEqual([second.jti]);
    });

    it('revoking an ancestor on another worker refuses its descendants here at once', async () => {
      const other = await createTestStack({
        databaseUrl: s.config.databaseUrl,
        redisUrl: s.config.redisUrl,
        redisPrefix: `${s.prefix}:revoked`,
      });
      try {
        const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
        const kids = [
          await s.mint(agent.token, { kind: 'subagent', subject: 'a' }),
          await s.mint(agent.token, { kind: 'subagent', subject: 'b' }),
        ];
        expect((await s.verify(kids[0]!.token)).active).toBe(true); // agent remembered clear here
        const caller = await other.core.verifier.authenticate(app);
        await other.core.tokens.revoke(caller, agent.token);
        // The announcement reaches this worker in milliseconds; well within recheckMs anyway.
        await eventually(async () => !(await s.verify(kids[1]!.token)).active, 1000);
        expect((await s.verify(kids[0]!.token)).active).toBe(false);
      } finally {
        await other.close();
      }
    });

    it('requests for the same token while its check is in flight share that one check', async () => {
      const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
      const { asked, restore } = recordChecks();
      try {
        const answers = await Promise.all(Array.from({ length: 20 }, () => s.verify(agent.token)));
        expect(answers.map((a) => a.active)).toEqual(Array(20).fill(true));
      } finally {
        restore();
      }
      expect(asked).toEqual([[agent.jti]]);
    });

    it('a check in flight is not shared once a revocation has been heard', async () => {
      const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
      const check = s.core.filter.check.bind(s.core.filter);
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      let calls = 0;
      // The first check is held back, as a slow Redis would; later ones go straight through.
      const spy = vi.spyOn(s.core.filter, 'check').mockImplementation(async (ids) => {
        if (++calls === 1) await gate;
        return check(ids);
      });
      try {
        const first = s.core.checker.anyRevoked([agent.jti]);
        const joined = s.core.checker.anyRevoked([agent.jti]);
        expect(calls).toBe(1);
        s.core.checker.revokedElsewhere(['some-other-token']);
        const after = s.core.checker.anyRevoked([agent.jti]);
        expect(calls).toBe(2);
        release();
        expect(await Promise.all([first, joined, after])).toEqual([false, false, false]);
      } finally {
        spy.mockRestore();
      }
    });

    it('a resync that finds only revocations this worker heard of keeps its remembered answers', async () => {
      const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
      const other = await s.mint(app, { kind: 'agent', subject: 'other' });
      await revoke(other.token); // revoked here, so heard here
      expect((await s.verify(agent.token)).active).toBe(true);
      const { asked, restore } = recordChecks();
      try {
        await s.core.checker.resync(); // finds `other`, revoked within its window
        expect((await s.verify(agent.token)).active).toBe(true);
      } finally {
        restore();
      }
      expect(asked).toEqual([]);
    });

    it('a resync that finds a revocation this worker never heard of forgets them at once', async () => {
      const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
      const kid = await s.mint(agent.token, { kind: 'subagent', subject: 'a' });
      expect((await s.verify(kid.token)).active).toBe(true); // the agent remembered clear
      await revokeUnannounced(agent);
      await s.core.checker.resync();
      expect((await s.verify(kid.token)).active).toBe(false);
    });

    it('an ancestor revoked without an announcement is refused once recheckMs has passed', async () => {
      const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
      const kids = [
        await s.mint(agent.token, { kind: 'subagent', subject: 'a' }),
        await s.mint(agent.token, { kind: 'subagent', subject: 'b' }),
      ];
      expect((await s.verify(kids[0]!.token)).active).toBe(true);
      await revokeUnannounced(agent);
      // Within a second, as promised; here recheckMs (250 ms) or the periodic resync, whichever first.
      await eventually(async () => !(await s.verify(kids[1]!.token)).active, 1000);
    });
  });
});

describe("the worker's copy of the revoked ids", () => {
  use(() => withCopy);
  const trusted = () => eventually(() => s.core.checker.copyTrusted, 5000, 'a trusted copy');

  it('answers a token never seen before without a round trip; a revoked one still is refused', async () => {
    await trusted();
    const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
    const kid = await s.mint(agent.token, { kind: 'subagent', subject: 'a' });
    const gone = await s.mint(app, { kind: 'agent', subject: 'gone' });
    await revoke(gone.token);
    const { asked, restore } = recordChecks();
    const record = vi.spyOn(s.core.revocations, 'revokedAmong');
    try {
      expect((await s.verify(kid.token)).active).toBe(true);
      expect((await s.verify(agent.token)).active).toBe(true);
      expect((await s.verify(gone.token)).active).toBe(false);
    } finally {
      restore();
      record.mockRestore();
    }
    expect(asked).toEqual([]);
    expect(record).not.toHaveBeenCalled();
  });

  it('sends an id it holds on to Redis and Postgres, and only that id', async () => {
    await trusted();
    const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
    const kid = await s.mint(agent.token, { kind: 'subagent', subject: 'a' });
    // Recorded and in the filter but never announced: this worker learns of it only from the
    // copy's next load, which it then holds while the worker's own memory of revoked ids does not.
    await revokeUnannounced(agent);
    await s.core.checker.loadCopy();
    const { asked, restore } = recordChecks();
    try {
      expect((await s.verify(kid.token)).active).toBe(false);
    } finally {
      restore();
    }
    expect(asked).toEqual([[agent.jti]]);
  });

  it('takes in a revocation never announced at the next resync: within a second', async () => {
    await trusted();
    const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
    const kids = [
      await s.mint(agent.token, { kind: 'subagent', subject: 'a' }),
      await s.mint(agent.token, { kind: 'subagent', subject: 'b' }),
    ];
    expect((await s.verify(kids[0]!.token)).active).toBe(true);
    await revokeUnannounced(agent);
    const revokedAt = Date.now();
    // The stack resyncs every 200 ms, as the service does every 1,000 ms.
    await eventually(async () => !(await s.verify(kids[1]!.token)).active, 1000);
    expect(Date.now() - revokedAt).toBeLessThan(1000);
    expect((await s.verify(kids[0]!.token)).active).toBe(false);
  });

  it('is not trusted while revocations are not heard, and again after a sync once they are', async () => {
    await trusted();
    const agent = await s.mint(app, { kind: 'agent', subject: 'planner' });
    s.core.checker.setListening(false);
    expect(s.core.checker.copyTrusted).toBe(false);
    const { asked, restore } = recordChecks();
    try {
      expect((await s.verify(agent.token)).active).toBe(true);
      // The Redis filter answered, for the whole lineage (nothing is remembered while not heard).
      expect(asked).toHaveLength(1);
      expect(asked[0]).toContain(agent.jti);
      s.core.checker.setListening(true);
      // Hearing again is not enough: what was announced meanwhile is known only after a sync.
      expect(s.core.checker.copyTrusted).toBe(false);
      await s.core.checker.resync();
      expect(s.core.checker.copyTrusted).toBe(true);
    } finally {
      s.core.checker.setListening(true);
      restore();
    }
  });

  it('stops being trusted when it cannot sync with Postgres, and is trusted again when it can', async () => {
    await trusted();
    await pg.stop();
    try {
      // Its last sync started at most 200 ms ago; trusted for 2,000 ms after that.
      await eventually(() => !s.core.checker.copyTrusted, 3000, 'an untrusted copy');
    } finally {
      await pg.start();
    }
    await trusted();
  });
});

describe('loading the copy', () => {
  const exp = () => Math.floor(Date.now() / 1000) + 3600;
  // A stack of its own, opened after the tests above have stopped and restarted Postgres. On
  // the pool that lived through those restarts, a query here once failed with a stop's
  // "terminating connection due to administrator command" (57P01), long after the stop.
  let fresh: Ctx;
  beforeAll(async () => {
    fresh = await stack();
    await eventually(() => fresh.s.core.checker.copyTrusted, 5000, 'a trusted copy');
  });
  afterAll(() => fresh?.s.close());

  /** A checker on the stack's own filter and record, whose copy loads until `release` is called. */
  async function slowLoad(options: { recheckMs?: number } = {}) {
    const { RevocationChecker } = await import('../../src/revocation/revocation-checker.js');
    const events: { type: string; entries?: number }[] = [];
    const checker = new RevocationChecker(fresh.s.core.filter, fresh.s.core.revocations, {
      recheckMs: options.recheckMs ?? 250,
      onEvent: (e) => events.push(e),
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const unexpired = fresh.s.core.revocations.unexpired.bind(fresh.s.core.revocations);
    // A slow Postgres: the first batch of the load comes only once released.
    const spy = vi
      .spyOn(fresh.s.core.revocations, 'unexpired')
      .mockImplementation(async function* () {
        await gate;
        yield* unexpired();
      });
    return { checker, events, release, restore: () => spy.mockRestore() };
  }

  it('keeps the revocations heard while it loads', async () => {
    const rows = Number((await fresh.s.sql`SELECT count(*)::int AS n FROM auth.revocations`)[0]?.n);
    const { checker, events, release, restore } = await slowLoad();
    try {
      checker.setListening(true);
      const loading = checker.loadCopy();
      const { newTokenId } = await import('../../src/tokens/ids.js');
      const heard = [newTokenId(exp()), newTokenId(exp())];
      checker.revokedElsewhere(heard);
      release();
      await loading;
      expect(events).toEqual([{ type: 'copy-loaded', entries: rows + 2 }]);
      expect(checker.copyTrusted).toBe(true);
    } finally {
      restore();
    }
  });

  it('is not trusted if revocations went unheard while it loaded', async () => {
    const { checker, events, release, restore } = await slowLoad();
    try {
      checker.setListening(true);
      const loading = checker.loadCopy();
      checker.setListening(false);
      checker.setListening(true);
      release();
      await loading;
      expect(events.map((e) => e.type)).toEqual(['copy-loaded']);
      expect(checker.copyTrusted).toBe(false);
    } finally {
      restore();
    }
  });

  it('is loaded afresh when its hour is up, without the ids of tokens long expired', async () => {
    const { RevocationChecker } = await import('../../src/revocation/revocation-checker.js');
    const { newTokenId } = await import('../../src/tokens/ids.js');
    const { sql, core } = fresh.s;
    const cid = (await core.verifier.authenticate(fresh.app)).cid;
    const now = Math.floor(Date.now() / 1000);
    const [old, live] = [newTokenId(now - 7200), newTokenId(now + 3600)];
    // Recorded a while ago (outside a resync's window) and never announced: of this worker's
    // sources, only a load reads them.
    await sql`
      INSERT INTO auth.revocations (jti, customer_id, kind, expires_at, revoked_by, revoked_at)
      VALUES (${old}, ${cid}::uuid, 'agent', now() - interval '2 hours', 'test', now() - interval '3 hours'),
             (${live}, ${cid}::uuid, 'agent', now() + interval '1 hour', 'test', now() - interval '1 minute')`;
    await core.filter.add([{ jti: live, exp: now + 3600 }]); // as for every recorded revocation
    const events: { type: string }[] = [];
    // An "hour" of 0 ms: every resync starts a load.
    const checker = new RevocationChecker(core.filter, core.revocations, {
      recheckMs: 250,
      copyReloadMs: 0,
      onEvent: (e) => events.push(e),
    });
    const check = vi.spyOn(core.filter, 'check');
    try {
      checker.setListening(true);
      const loads = () => events.filter((e) => e.type === 'copy-loaded').length;
      for (let i = 1; i <= 2; i++) {
        await checker.resync(); // starts a load, without waiting for it
        await eventually(() => loads() >= i, 5000, `load ${i}`);
      }
      expect(checker.copyTrusted).toBe(true);
      check.mockClear();
      // The expired token's id is not in the copy: answered with no round trip (verification
      // refuses that token for its exp before revocation is asked).
      expect(await checker.anyRevoked([old])).toBe(false);
      expect(check).not.toHaveBeenCalled();
      // The live one is, and goes on to the Redis filter and Postgres.
      expect(await checker.anyRevoked([live])).toBe(true);
      expect(check.mock.calls).toEqual([[[live]]]);
    } finally {
      check.mockRestore();
      await sql`DELETE FROM auth.revocations WHERE jti IN (${old}, ${live})`;
    }
  });

  it('is off when AUTH_REVOCATION_RECHECK_MS is 0: every check asks Redis', async () => {
    const { checker, events, release, restore } = await slowLoad({ recheckMs: 0 });
    try {
      release();
      checker.setListening(true);
      await checker.loadCopy();
      await checker.resync();
      expect(events.filter((e) => e.type === 'copy-loaded')).toEqual([]);
      expect(checker.copyTrusted).toBe(false);
    } finally {
      restore();
    }
  });

  it('answers through Redis and Postgres when its bits say "maybe" for everything', async () => {
    const tiny = await createTestStack({
      redisUrl: redis.url,
      databaseUrl: fresh.s.config.databaseUrl,
      // Eight hashes over eight bits: one id sets them all, and then every id is "maybe".
      revocationCopy: { bloom: { bits: 8, hashes: 8 } },
    });
    try {
      await eventually(() => tiny.core.checker.copyTrusted, 5000, 'a trusted copy');
      const live = await tiny.mint(fresh.app, { kind: 'agent', subject: 'live' });
      const gone = await tiny.mint(fresh.app, { kind: 'agent', subject: 'gone' });
      await tiny.revoke(fresh.app, gone.token);
      const check = vi.spyOn(tiny.core.filter, 'check');
      expect((await tiny.verify(live.token)).active).toBe(true);
      expect(check.mock.calls.flat(2)).toContain(live.jti);
      check.mockRestore();
      expect((await tiny.verify(gone.token)).active).toBe(false);
    } finally {
      await tiny.close();
    }
  });
});
