/**
 * The filter's bit layout is data: filters already in Redis were written with it, and a worker
 * that computed other offsets would answer "clear" for ids they hold. These offsets were taken
 * from the layout as first shipped.
 */
import { describe, expect, it } from 'vitest';
import { bitOffsets, DEFAULT_BLOOM } from '../../src/revocation/revocation-filter.js';

describe('bitOffsets', () => {
  it('gives the offsets the filters in Redis were written with', () => {
    expect(bitOffsets('01JD0000000000000000000000', DEFAULT_BLOOM)).toEqual([
      307204, 66599, 874570, 633965, 393360, 152755, 960726,
    ]);
    // Ids are hashed as UTF-8.
    expect(bitOffsets('é-ünïcode', DEFAULT_BLOOM)).toEqual([
      610246, 22723, 483776, 944829, 357306, 818359, 230836,
    ]);
  });
});
