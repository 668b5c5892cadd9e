/**
 * A worker's own copy of the revoked token ids: a bloom filter in memory, loaded from Postgres and
 * kept up to date by the revocations the worker hears (see RevocationChecker, which decides when
 * the copy is trusted). It answers "certainly not revoked" for almost every id without a round
 * trip; anything else goes on to the shared filter in Redis and to Postgres.
 *
 * Unlike the Redis filter (one key per expiry day) it is one bit array for all days: 2^23 bits
 * (1 MiB) and 7 hashes, so under 1 in 10^7 false "maybe" at 100,000 unexpired revocations, about
 * 1 in 2,000 at 500,000. A false "maybe" costs only the round trip the copy saves. Ids stay in it
 * until it is reloaded (hourly), which drops those whose tokens have expired.
 */
import { hash } from 'node:crypto';
import { base64urlBits30 } from '../base64url.js';
import { BloomBits } from '../bloom-bits.js';
import type { BloomParameters } from './revocation-filter.js';

export const COPY_BLOOM: BloomParameters = { bits: 1 << 23, hashes: 7 };

/** Characters after the dot in one of our ids (newTokenId: 16 random bytes in base64url). */
const RANDOM_CHARS = 22;

/**
 * 30 random bits of one of our ids: the five base64url characters from `at` after its dot; -1 if
 * `id` does not have that shape. Our ids end in 128 bits from the CSPRNG, and the ids a check is
 * asked about come from verified signatures or our own database, so nobody chooses them: hashing
 * them again (a SHA-256 each, ~0.7 us) would only spend time.
 */
function randomBitsOf(id: string, at: number): number {
  const start = id.length - RANDOM_CHARS;
  if (start < 2 || id.charCodeAt(start - 1) !== 0x2e /* . */) return -1;
  return base64urlBits30(id, start + at);
}

export class RevocationCopy {
  readonly #bits: BloomBits;
  #added = 0;

  constructor(params: BloomParameters = COPY_BLOOM) {
    if (!Number.isSafeInteger(params.bits) || params.bits < 8 || params.hashes < 1) {
      throw new RangeError('a revocation copy needs at least 8 bits and 1 hash');
    }
    this.#bits = new BloomBits(params.bits, params.hashes);
  }

  /** How many ids were added (an id added twice counts twice). */
  get added(): number {
    return this.#added;
  }

  add(ids: Iterable<string>): void {
    for (const id of ids) {
      this.#probe(id, true);
      this.#added++;
    }
  }

  /** False if `id` was certainly never added; true if it may have been. */
  mightContain(id: string): boolean {
    return this.#probe(id, false);
  }

  /**
   * The id's two hashes are its own random bits when it is one of ours (see `randomBitsOf`), else
   * 64 bits of its SHA-256. This runs for every id of every token verified.
   */
  #probe(id: string, set: boolean): boolean {
    let h1 = randomBitsOf(id, 0);
    let h2 = randomBitsOf(id, 5);
    if (h1 < 0 || h2 < 0) {
      const digest = hash('sha256', id, 'buffer');
      h1 = digest.readUInt32BE(0);
      h2 = digest.readUInt32BE(4);
    }
    return set ? this.#bits.add(h1, h2) : this.#bits.has(h1, h2);
  }
}
