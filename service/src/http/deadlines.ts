/**
 * The request deadline's bookkeeping: which requests are still unanswered, and when each is due.
 *
 * Most requests are answered in the turn of the event loop they arrive in (a verify whose key and
 * revocation answers are in memory never waits). So a request is first only put on a list of this
 * turn's arrivals; once the turn's I/O is done (`setImmediate`), the ones still unanswered, the
 * only ones that can outlive their deadline, are entered with the time they are due. Entering
 * every request in a map when it arrived and deleting it when answered cost more
 * (bench/README.md).
 *
 * A reply leaves as soon as it has been answered (see `answered`): one held until the next sweep
 * would keep its request, response and socket buffers alive through young-generation GCs, which
 * then copy and promote them. Replies that never finish (the client went away) leave at the next
 * sweep.
 */
import type { FastifyReply } from 'fastify';

/**
 * The log line of a token made by a request that had been answered 503 at its deadline in the
 * meantime: it exists (and is in the audit log), but the caller never received it.
 */
export const NOT_DELIVERED =
  'token made after its request was answered 503 at the deadline; not delivered';

/** How often requests in flight are checked against their deadline. */
export const DEADLINE_SWEEP_MS = 100;

export class RequestDeadlines {
  readonly #deadlineMs: number;
  readonly #expired: (reply: FastifyReply) => void;
  /** Replies that arrived in this turn of the event loop, and when the first of them did. */
  #arrived: FastifyReply[] = [];
  #arrivedAt = 0;
  /** Replies still unanswered after the turn they arrived in, with the time each is due. */
  readonly #waiting = new Map<FastifyReply, number>();
  readonly #sweep: NodeJS.Timeout;

  /**
   * `expired` answers a reply whose deadline passed. It is called between `deadlineMs` and
   * `deadlineMs` + {@link DEADLINE_SWEEP_MS} after the request arrived.
   */
  constructor(deadlineMs: number, expired: (reply: FastifyReply) => void) {
    this.#deadlineMs = deadlineMs;
    this.#expired = expired;
    this.#sweep = setInterval(
      () => this.#check(Date.now()),
      Math.min(DEADLINE_SWEEP_MS, deadlineMs),
    );
    this.#sweep.unref();
  }

  /** A request has arrived. */
  admit(reply: FastifyReply): void {
    if (this.#arrived.length === 0) {
      this.#arrivedAt = Date.now();
      setImmediate(this.#settle);
    }
    this.#arrived.push(reply);
  }

  /** A request's answer has been written out (or has failed). */
  answered(reply: FastifyReply): void {
    if (this.#waiting.size !== 0) this.#waiting.delete(reply);
  }

  /** The replies not yet answered. */
  *unanswered(): Generator<FastifyReply> {
    for (const reply of this.#arrived) if (!isAnswered(reply)) yield reply;
    for (const reply of this.#waiting.keys()) if (!isAnswered(reply)) yield reply;
  }

  /** Stops the sweep and forgets every request. */
  close(): void {
    clearInterval(this.#sweep);
    this.#arrived = [];
    this.#waiting.clear();
  }

  /** The end of the turn the requests on `#arrived` came in. */
  readonly #settle = (): void => {
    const due = this.#arrivedAt + this.#deadlineMs;
    for (const reply of this.#arrived) if (!isAnswered(reply)) this.#waiting.set(reply, due);
    this.#arrived = [];
  };

  #check(now: number): void {
    for (const [reply, due] of this.#waiting) {
      if (isAnswered(reply)) this.#waiting.delete(reply);
      else if (due <= now) {
        this.#waiting.delete(reply);
        this.#expired(reply);
      }
    }
  }
}

function isAnswered(reply: FastifyReply): boolean {
  return reply.sent || reply.raw.headersSent || reply.raw.destroyed;
}
