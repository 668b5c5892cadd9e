/**
 * The worker's copy of the revoked ids: never a false "not revoked", rarely a false "maybe".
 */
import { describe, expect, it } from 'vitest';
import { COPY_BLOOM, RevocationCopy } from '../../src/revocation/revocation-copy.js';
import { newTokenId } from '../../src/tokens/ids.js';

const exp = Math.floor(Date.now() / 1000) + 3600;
const ids = (n: number) => Array.from({ length: n }, () => newTokenId(exp));

describe('RevocationCopy', () => {
  it('says "maybe" for every id added, and "no" for an empty copy', () => {
    const added = ids(20_000);
    const copy = new RevocationCopy();
    expect(added.some((id) => copy.mightContain(id))).toBe(false);
    copy.add(added);
    expect(added.every((id) => copy.mightContain(id))).toBe(true);
    expect(copy.added).toBe(20_000);
  });

  it('rarely says "maybe" for an id never added (100,000 added, 100,000 asked)', () => {
    const copy = new RevocationCopy(COPY_BLOOM);
    copy.add(ids(100_000));
    const falseMaybes = ids(100_000).filter((id) => copy.mightContain(id)).length;
    // Expected about 0.002 at this load (1 - e^(-7 * 10^5 / 2^23))^7; anything near 1 would mean
    // the hashes are not spread over the array.
    expect(falseMaybes).toBeLessThan(5);
  });

  it('also holds ids not of our shape (hashed instead of read)', () => {
    const odd = ['not-a-token-id', 'g1f.short', `g1f.${'!'.repeat(22)}`, 'é-ünïcode', ''];
    const copy = new RevocationCopy();
    copy.add(odd);
    expect(odd.every((id) => copy.mightContain(id))).toBe(true);
    const others = Array.from({ length: 1000 }, (_, i) => `other-${i}`);
    expect(others.filter((id) => copy.mightContain(id))).toEqual([]);
  });

  it('a copy too small is all "maybe", never a false "no"', () => {
    const copy = new RevocationCopy({ bits: 8, hashes: 2 });
    const added = ids(50);
    copy.add(added);
    expect(added.every((id) => copy.mightContain(id))).toBe(true);
    expect(ids(50).filter((id) => copy.mightContain(id)).length).toBeGreaterThan(45);
  });

  it('refuses parameters it cannot work with', () => {
    expect(() => new RevocationCopy({ bits: 0, hashes: 7 })).toThrow(RangeError);
    expect(() => new RevocationCopy({ bits: 1 << 20, hashes: 0 })).toThrow(RangeError);
    expect(() => new RevocationCopy({ bits: 1.5, hashes: 1 })).toThrow(RangeError);
  });
});
