/**
 * The revocation decision: is any id in a token's lineage revoked? The Redis filter answers
 * "clear" for almost every token in one round trip; a "maybe", an unready filter or an
 * unreachable Redis is settled by Postgres; if neither can answer, the caller gets
 * DependencyUnavailableError, never "not revoked".
 *
 * A "clear" answer is remembered per id for at most `recheckMs` (default 250 ms), so that a
 * token presented on every call costs no round trip and a new token whose ancestors were just
 * checked costs the check of its own id only. That memory is used only while this worker hears
 * revocations as they happen (Redis pub/sub, see `revocationEvents`): every revocation clears it
 * on every worker, so a revoked token is refused everywhere at once, and within `recheckMs` even
 * if a message were lost. Ids found revoked are remembered.
 *
 * Under the same condition, requests that need the same ids checked while such a check is in
 * flight share it rather than each send their own: when a remembered answer runs out, the
 * token's next requests (dozens, on a busy worker) would otherwise all go to Redis at once. A
 * check is shared only until a revocation is heard, like a remembered answer.
 */
import { DependencyUnavailableError } from '../errors.js';
import { LruCache } from '../lru.js';
import type { FilterAnswer, RevokedEntry } from './revocation-filter.js';

export interface FilterPort {
  check(ids: readonly string[]): Promise<FilterAnswer>;
  add(entries: readonly RevokedEntry[]): Promise<void>;
  rebuild(source: () => AsyncIterable<RevokedEntry[]>): Promise<boolean>;
  isReady(): Promise<boolean>;
  /** Tells every listening worker that these ids were revoked. */
  announce(ids: readonly string[]): Promise<void>;
}

export interface RecordPort {
  revokedAmong(ids: readonly string[]): Promise<string[]>;
  revokedSince(since: number): Promise<RevokedEntry[]>;
  unexpired(): AsyncIterable<RevokedEntry[]>;
}

export interface RevocationCheckerOptions {
  recheckMs: number;
  /** Milliseconds since the epoch. */
  nowMs?: () => number;
  onEvent?: (event: RevocationEvent) => void;
}

export type RevocationEvent =
  | { type: 'filter-unavailable'; error: unknown }
  | { type: 'filter-unready' }
  | { type: 'filter-rebuilt' }
  | { type: 'filter-resynced'; entries: number }
  | { type: 'record-unavailable'; error: unknown };

export class RevocationChecker {
  readonly #filter: FilterPort;
  readonly #record: RecordPort;
  readonly #opts: RevocationCheckerOptions;
  readonly #now: () => number;
  /**
   * An entry is good for `recheckMs` (at most a second), so this needs to hold only the tokens
   * one worker sees within that time; stale entries beyond that were only weight on the heap.
   */
  readonly #clearUntil = new LruCache<string, number>(20_000);
  readonly #revoked = new LruCache<string, true>(100_000);
  /** Filter checks in flight, by the ids asked (joined), with the epoch they were sent in. */
  readonly #inFlight = new Map<string, { epoch: number; answer: Promise<FilterAnswer> }>();
  /** Set while the filter may lack revocations (Redis was unreachable); Postgres answers meanwhile. */
  #suspectSince: number | undefined;
  #rebuilding: Promise<void> | undefined;
  /** Whether revocations made elsewhere reach this worker as they happen. */
  #listening = false;
  /** Bumped by every revocation heard; a "clear" read that straddles one is not remembered. */
  #epoch = 0;

  constructor(filter: FilterPort, record: RecordPort, options: RevocationCheckerOptions) {
    this.#filter = filter;
    this.#record = record;
    this.#opts = options;
    this.#now = options.nowMs ?? Date.now;
  }

  /** Whether the filter is currently trusted (false while a resync is pending). */
  get filterTrusted(): boolean {
    return this.#suspectSince === undefined;
  }

  /**
   * Says whether this worker currently hears other workers' revocations; remembered "clear"
   * answers are used only while it does.
   */
  setListening(listening: boolean): void {
    this.#listening = listening;
    this.#epoch++;
    if (!listening) this.#clearUntil.clear();
  }

  /** A revocation made by another worker or replica: forget any "clear" answer. */
  revokedElsewhere(ids: readonly string[]): void {
    for (const id of ids) this.#revoked.set(id, true);
    this.#epoch++;
    this.#clearUntil.clear();
  }

  /** Marks the filter as possibly stale, e.g. when the Redis connection drops. */
  markSuspect(): void {
    this.#suspectSince ??= this.#now();
  }

  /** Whether any of `ids` is revoked. Throws DependencyUnavailableError if that cannot be known. */
  async anyRevoked(ids: readonly string[]): Promise<boolean> {
    for (const id of ids) if (this.#revoked.get(id)) return true;
    const now = this.#now();
    // Ids found clear a moment ago are not asked again: a token's ancestors (its app token, the
    // agent that minted it) are shared by every token minted from them, so most lineages need
    // only their own new id checked.
    let unsure = ids;
    if (this.#listening) {
      unsure = ids.filter((id) => !((this.#clearUntil.get(id) ?? 0) > now));
      if (unsure.length === 0) return false;
    }

    if (this.#suspectSince === undefined) {
      const epoch = this.#epoch;
      let answer: FilterAnswer;
      try {
        answer = await this.#check(unsure, epoch);
      } catch (error) {
        this.markSuspect();
        this.#opts.onEvent?.({ type: 'filter-unavailable', error });
        return this.#fromRecord(ids);
      }
      if (answer === 'clear') {
        if (this.#listening && this.#opts.recheckMs > 0 && epoch === this.#epoch) {
          for (const id of unsure) this.#clearUntil.set(id, now + this.#opts.recheckMs);
        }
        return false;
      }
      if (answer === 'unready') {
        this.#opts.onEvent?.({ type: 'filter-unready' });
        void this.rebuild();
      }
    }
    return this.#fromRecord(ids);
  }

  /** The filter's answer for `ids`, shared with a check of the same ids already in flight. */
  #check(ids: readonly string[], epoch: number): Promise<FilterAnswer> {
    if (!this.#listening) return this.#filter.check(ids);
    const key = ids.length === 1 ? (ids[0] as string) : ids.join(' ');
    const shared = this.#inFlight.get(key);
    if (shared !== undefined && shared.epoch === epoch) return shared.answer;
    const answer = this.#filter.check(ids);
    this.#inFlight.set(key, { epoch, answer });
    const done = () => {
      if (this.#inFlight.get(key)?.answer === answer) this.#inFlight.delete(key);
    };
    answer.then(done, done);
    return answer;
  }

  async #fromRecord(ids: readonly string[]): Promise<boolean> {
    let revoked: string[];
    try {
      revoked = await this.#record.revokedAmong(ids);
    } catch (error) {
      this.#opts.onEvent?.({ type: 'record-unavailable', error });
      throw new DependencyUnavailableError(
        'postgres',
        'revocation status cannot be established right now',
        { cause: error },
      );
    }
    for (const id of revoked) this.#revoked.set(id, true);
    return revoked.length > 0;
  }

  /**
   * Call after recording a revocation in Postgres: updates the filter, this worker's memory, and
   * tells the other workers.
   */
  async revoked(entries: readonly RevokedEntry[]): Promise<void> {
    for (const e of entries) this.#revoked.set(e.jti, true);
    this.#epoch++;
    this.#clearUntil.clear();
    try {
      await this.#filter.add(entries);
      await this.#filter.announce(entries.map((e) => e.jti));
    } catch (error) {
      // Postgres holds the revocation; the filter catches up on the next resync.
      this.markSuspect();
      this.#opts.onEvent?.({ type: 'filter-unavailable', error });
    }
  }

  /** Rebuilds the filter from Postgres (one rebuild at a time per process). */
  rebuild(): Promise<void> {
    this.#rebuilding ??= (async () => {
      try {
        if (await this.#filter.rebuild(() => this.#record.unexpired())) {
          this.#opts.onEvent?.({ type: 'filter-rebuilt' });
        }
      } catch (error) {
        this.#opts.onEvent?.({ type: 'filter-unavailable', error });
      } finally {
        this.#rebuilding = undefined;
      }
    })();
    return this.#rebuilding;
  }

  /**
   * Copies recent revocations from Postgres into the filter and this worker's memory. Run
   * periodically; after an outage it covers everything since the filter became suspect, and only
   * then is the filter trusted again.
   */
  async resync(windowMs = 5_000): Promise<void> {
    if (!(await this.#filter.isReady())) {
      this.#opts.onEvent?.({ type: 'filter-unready' });
      await this.rebuild();
    }
    const suspect = this.#suspectSince;
    const since = Math.floor(((suspect ?? this.#now()) - windowMs) / 1000);
    const entries = await this.#record.revokedSince(since);
    // Remembered "clear" answers go only if this worker had not heard of one of these: those it
    // heard of cleared them when they were announced, and a steady trickle of revocations would
    // otherwise empty them every second.
    let unheard = false;
    for (const e of entries) {
      if (this.#revoked.get(e.jti)) continue;
      this.#revoked.set(e.jti, true);
      unheard = true;
    }
    if (unheard) {
      this.#epoch++;
      this.#clearUntil.clear();
    }
    await this.#filter.add(entries);
    if (suspect !== undefined && this.#suspectSince === suspect) {
      this.#suspectSince = undefined;
      this.#opts.onEvent?.({ type: 'filter-resynced', entries: entries.length });
    }
  }
}
