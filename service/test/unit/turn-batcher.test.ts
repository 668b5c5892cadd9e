/**
 * The batching both the revocation filter and the audit writer use: one batch per turn of the
 * event loop, the next only once the batches out are answered, results and failures per item.
 */
import { describe, expect, it } from 'vitest';
import { TurnBatcher } from '../../src/turn-batcher.js';

const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('TurnBatcher', () => {
  it('sends what one turn adds as one batch, split at maxBatch, each item its own result', async () => {
    const sent: number[][] = [];
    const b = new TurnBatcher<number, number>(async (xs) => {
      sent.push(xs);
      return xs.map((x) => x * 10);
    }, 4);
    const results = await Promise.all([1, 2, 3, 4, 5, 6].map((x) => b.add(x)));
    expect(results).toEqual([10, 20, 30, 40, 50, 60]);
    expect(sent).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('while a batch is out, items added over several turns wait and go in one', async () => {
    const sent: number[][] = [];
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const b = new TurnBatcher<number, number>(async (xs) => {
      sent.push(xs);
      if (sent.length === 1) await gate;
      return xs;
    }, 100);
    const all = [b.add(0)];
    for (let t = 1; t <= 5; t++) {
      await turn();
      all.push(b.add(t));
    }
    expect(sent).toEqual([[0]]);
    release();
    expect(await Promise.all(all)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(sent).toEqual([[0], [1, 2, 3, 4, 5]]);
  });

  it('a failed batch fails its items only; a promised result settles its item alone; a throwing send fails too', async () => {
    let calls = 0;
    const b = new TurnBatcher<number, number>((xs) => {
      calls++;
      if (calls === 1) throw new Error('send threw');
      if (calls === 2) return Promise.reject(new Error('batch failed'));
      return Promise.resolve(xs.map((x) => (x < 0 ? Promise.reject(new Error(`bad ${x}`)) : x)));
    }, 100);
    await expect(b.add(1)).rejects.toThrow('send threw');
    await expect(b.add(2)).rejects.toThrow('batch failed');
    const outcomes = await Promise.allSettled([b.add(3), b.add(-4), b.add(5)]);
    expect(outcomes.map((o) => (o.status === 'fulfilled' ? o.value : String(o.reason)))).toEqual([
      3,
      'Error: bad -4',
      5,
    ]);
  });
});
