/**
 * The bounded LRU map behind the verifier's cache of checked signatures.
 */
import { describe, expect, it } from 'vitest';
import { LruCache } from '../../src/lru.js';

describe('LruCache', () => {
  it('never holds more than its bound, evicting the least recently set', () => {
    const c = new LruCache<string, number>(3);
    for (const [i, k] of ['a', 'b', 'c', 'd', 'e'].entries()) c.set(k, i);
    expect(c.size).toBe(3);
    expect(c.get('a')).toBeUndefined();
    expect(c.get('b')).toBeUndefined();
    expect([c.get('c'), c.get('d'), c.get('e')]).toEqual([2, 3, 4]);
  });

  it('counts a read as a use', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.get('a')).toBe(1);
    c.set('c', 3);
    expect(c.get('a')).toBe(1);
    expect(c.get('b')).toBeUndefined();
  });

  it('counts overwriting as a use and keeps the new value without growing', () => {
    const c = new LruCache<string, number>(2);
    c.set('a', 1);
    c.set('b', 2);
    c.set('a', 10);
    expect(c.size).toBe(2);
    c.set('c', 3);
    expect(c.get('a')).toBe(10);
    expect(c.get('b')).toBeUndefined();
  });

  it('deletes and clears', () => {
    const c = new LruCache<string, number>(5);
    c.set('a', 1);
    c.set('b', 2);
    c.delete('a');
    expect(c.get('a')).toBeUndefined();
    expect(c.size).toBe(1);
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get('b')).toBeUndefined();
  });

  it.each([0, -5])('treats a bound of %i as 1 rather than caching nothing or everything', (max) => {
    const c = new LruCache<string, number>(max);
    c.set('a', 1);
    c.set('b', 2);
    expect(c.size).toBe(1);
    expect(c.get('b')).toBe(2);
  });

  it('under churn keeps the keys in use and the newest others, within its bound', () => {
    // The revocation checker's pattern: a few hot keys (shared ancestors) read on every request
    // while new keys stream through a full cache.
    const c = new LruCache<string, number>(1000);
    for (let i = 0; i < 10_000; i++) {
      for (const hot of ['app', 'agent']) if (c.get(hot) === undefined) c.set(hot, -1);
      c.set(`t${i}`, i);
      expect(c.size).toBeLessThanOrEqual(1000);
    }
    expect([c.get('app'), c.get('agent')]).toEqual([-1, -1]);
    expect(c.get('t9999')).toBe(9999);
    expect(c.get('t9002')).toBe(9002);
    expect(c.get('t9001')).toBeUndefined();
  });
});
