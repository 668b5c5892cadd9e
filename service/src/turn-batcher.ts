/**
 * Gathers the items of concurrent requests and sends them together: those added while the event
 * loop handles one batch of I/O (the requests of many connections) go in one batch, and while
 * batches are out, all those added until every one is answered go in the next. An idle process's
 * item leaves at once; a busy one's waits for at most one round trip, and many share one write
 * and one reply instead of one each: under load the batches grow with it.
 *
 * Used for the revocation filter's Redis checks and for the audit rows of mints.
 */

interface Pending<T, R> {
  item: T;
  resolve: (result: R | PromiseLike<R>) => void;
  reject: (error: unknown) => void;
}

/**
 * `send` gets up to `maxBatch` items and answers with one result per item, in order; a result may
 * be a promise of its own (which settles that item alone). If `send` fails, every item of its
 * batch fails with that error. `send` must settle: a batch that never does holds every later one.
 */
export class TurnBatcher<T, R> {
  readonly #send: (items: T[]) => Promise<readonly (R | PromiseLike<R>)[]>;
  readonly #maxBatch: number;
  #pending: Pending<T, R>[] = [];
  #scheduled = false;
  /** Batches sent and not yet answered. */
  #out = 0;

  constructor(send: (items: T[]) => Promise<readonly (R | PromiseLike<R>)[]>, maxBatch: number) {
    this.#send = send;
    this.#maxBatch = maxBatch;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#schedule();
    });
  }

  /** Flushes at the end of this turn of the event loop, unless a batch is still out. */
  #schedule(): void {
    if (this.#scheduled || this.#out > 0 || this.#pending.length === 0) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#flush();
    });
  }

  #flush(): void {
    const all = this.#pending;
    this.#pending = [];
    for (let from = 0; from < all.length; from += this.#maxBatch) {
      const batch = all.slice(from, from + this.#maxBatch);
      this.#out++;
      const answered = () => {
        this.#out--;
        this.#schedule();
      };
      let sent: Promise<readonly (R | PromiseLike<R>)[]>;
      try {
        sent = this.#send(batch.map((p) => p.item));
      } catch (error) {
        sent = Promise.reject(error);
      }
      sent.then(
        (results) => {
          answered();
          batch.forEach((p, i) => p.resolve(results[i] as R | PromiseLike<R>));
        },
        (error: unknown) => {
          answered();
          batch.forEach((p) => p.reject(error));
        },
      );
    }
  }
}
