/**
 * The bit array of an in-memory bloom filter, addressed by double hashing: item (h1, h2) owns
 * the bits (h1 + i·h2) mod `bits` for i < `hashes`, as the Redis filter's offsets are made
 * (bitOffsets), without arrays. Callers bring the two hashes; h2 is made odd here.
 */
export class BloomBits {
  readonly #words: Int32Array;
  readonly #bits: number;
  readonly #hashes: number;

  constructor(bits: number, hashes: number) {
    this.#bits = bits;
    this.#hashes = hashes;
    this.#words = new Int32Array(Math.ceil(bits / 32));
  }

  /** Sets the item's bits; says whether all of them were set already. */
  add(h1: number, h2: number): boolean {
    return this.#probe(h1, h2, true);
  }

  /** Whether all of the item's bits are set. */
  has(h1: number, h2: number): boolean {
    return this.#probe(h1, h2, false);
  }

  clear(): void {
    this.#words.fill(0);
  }

  #probe(h1: number, h2: number, set: boolean): boolean {
    const step = h2 | 1;
    let all = true;
    for (let i = 0; i < this.#hashes; i++) {
      const o = ((h1 + Math.imul(i, step)) >>> 0) % this.#bits;
      const word = this.#words[o >>> 5] as number;
      const mask = 1 << (o & 31);
      if ((word & mask) !== 0) continue;
      all = false;
      if (!set) return false;
      this.#words[o >>> 5] = word | mask;
    }
    return all;
  }
}
