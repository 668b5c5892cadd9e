import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import type { FastifyReply } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { RequestDeadlines } from '../src/http/deadlines.js';

/** The parts of a reply the bookkeeping reads: whether it has been answered. */
function reply(name: string) {
  const r = { name, sent: false, raw: { headersSent: false, destroyed: false } };
  return r as typeof r & FastifyReply;
}

let open: RequestDeadlines | undefined;
afterEach(() => open?.close());

function deadlines(ms: number) {
  const expired: string[] = [];
  open = new RequestDeadlines(ms, (r) => expired.push((r as unknown as { name: string }).name));
  return { d: open, expired };
}

describe('request deadlines', () => {
  it('expires a request still unanswered after its deadline, once', async () => {
    const { d, expired } = deadlines(50);
    const stuck = reply('stuck');
    d.admit(stuck);
    await sleep(30);
    expect(expired).toEqual([]);
    await eventuallyExpired(expired, ['stuck']);
    await sleep(120);
    expect(expired).toEqual(['stuck']);
  });

  it('never expires a request answered in its turn, in a later turn, or whose client went away', async () => {
    const { d, expired } = deadlines(50);
    const quick = reply('quick');
    const later = reply('later');
    const gone = reply('gone');
    const stuck = reply('stuck');
    for (const r of [quick, later, gone, stuck]) d.admit(r);
    quick.sent = true;
    d.answered(quick);
    await nextTurn();
    await sleep(10);
    later.raw.headersSent = true;
    d.answered(later);
    gone.raw.destroyed = true; // no answered(): the client went away mid-request
    await eventuallyExpired(expired, ['stuck']);
    await sleep(120);
    expect(expired).toEqual(['stuck']);
  });

  it('lists the unanswered requests, those of this turn and those waiting', async () => {
    const { d } = deadlines(10_000);
    const waiting = reply('waiting');
    const answered = reply('answered');
    d.admit(waiting);
    d.admit(answered);
    await nextTurn();
    answered.sent = true;
    const arriving = reply('arriving');
    d.admit(arriving);
    expect([...d.unanswered()].map((r) => (r as unknown as { name: string }).name)).toEqual([
      'arriving',
      'waiting',
    ]);
    d.close();
    expect([...d.unanswered()]).toEqual([]);
  });
});

async function eventuallyExpired(expired: string[], want: string[]): Promise<void> {
  for (let i = 0; i < 100 && expired.length < want.length; i++) await sleep(10);
  expect(expired).toEqual(want);
}
