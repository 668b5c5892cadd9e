/**
 * The revocation decision: is any id in a token's lineage revoked? The Redis filter answers
 * "clear" for almost every token in one round trip; a "maybe", an unready filter or an
 * unreachable Redis is settled by Postgres; if neither can answer, the caller gets
 * DependencyUnavailableError, never "not revoked".
 *
 * In front of them, while it is trusted, is this worker's own copy of the revoked ids (a
 * RevocationCopy: a bloom filter in memory), so that a token never seen before costs no round
 * trip at all. The copy is loaded from Postgres, given every revocation this worker hears of, and
 * brought up to date from Postgres by every `resync` (each second). It is trusted only while this
 * worker hears revocations as they happen and has heard them without a break since the start of
 * its last sync, and for at most `copyTrustMs` after that start: a revocation is in the copy as
 * soon as it is announced, and one whose announcement never came (the revoking process lost
 * Redis) at the next sync. When it is not trusted, or says "maybe", the checks below decide.
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
import { RevocationCopy } from './revocation-copy.js';
import type { BloomParameters, FilterAnswer, RevokedEntry } from './revocation-filter.js';

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
  /**
   * How long the worker's copy of the revoked ids stays trusted after the start of its last sync
   * with Postgres (default 2,000 ms: two resyncs at the service's pace); 0 turns the copy off,
   * and so does a `recheckMs` of 0 (every check then asks Redis).
   */
  copyTrustMs?: number;
  /** The copy's bloom parameters (tests; default COPY_BLOOM). */
  copyBloom?: BloomParameters;
  /**
   * How often the copy is loaded afresh, dropping expired ids (default an hour, plus up to 10 %
   * jitter so that workers do not all load at once).
   */
  copyReloadMs?: number;
  /** Milliseconds since the epoch. */
  nowMs?: () => number;
  onEvent?: (event: RevocationEvent) => void;
}

export type RevocationEvent =
  | { type: 'filter-unavailable'; error: unknown }
  | { type: 'filter-unready' }
  | { type: 'filter-rebuilt' }
  | { type: 'filter-resynced'; entries: number }
  | { type: 'copy-loaded'; entries: number }
  | { type: 'record-unavailable'; error: unknown };

/** A sync with Postgres: when it started, and whether revocations were heard throughout since. */
interface SyncStart {
  started: number;
  heardThroughout: () => boolean;
}

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
  /** Bumped whenever listening starts or stops: a sync is good only if it did not change. */
  #listenings = 0;
  readonly #copyTrustMs: number;
  readonly #copyReloadMs: number;
  /** The worker's copy of the revoked ids, once loaded. */
  #copy: RevocationCopy | undefined;
  /** A copy being loaded: revocations heard meanwhile go into it too. */
  #nextCopy: RevocationCopy | undefined;
  #loadingCopy: Promise<void> | undefined;
  /** When the copy's last sync with Postgres started (ms): the next one reads from there on. */
  #copySyncedFrom: number | undefined;
  #copyTrustedUntil = 0;
  #copyReloadAt = 0;

  constructor(filter: FilterPort, record: RecordPort, options: RevocationCheckerOptions) {
    this.#filter = filter;
    this.#record = record;
    this.#opts = options;
    this.#now = options.nowMs ?? Date.now;
    this.#copyTrustMs = options.recheckMs > 0 ? (options.copyTrustMs ?? 2_000) : 0;
    this.#copyReloadMs = options.copyReloadMs ?? 3_600_000;
  }

  /** Whether the worker's copy of the revoked ids answers checks right now. */
  get copyTrusted(): boolean {
    return this.#trustedCopy(this.#now()) !== undefined;
  }

  #trustedCopy(now: number): RevocationCopy | undefined {
    return this.#listening && now < this.#copyTrustedUntil ? this.#copy : undefined;
  }

  /** Puts revoked ids into the copy and into one being loaded. */
  #copyAdd(ids: readonly string[]): void {
    this.#copy?.add(ids);
    this.#nextCopy?.add(ids);
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
    this.#listenings++;
    if (!listening) {
      this.#clearUntil.clear();
      this.#copyTrustedUntil = 0;
    }
  }

  /** A revocation made by another worker or replica: forget any "clear" answer. */
  revokedElsewhere(ids: readonly string[]): void {
    this.#copyAdd(ids);
    for (const id of ids) this.#revoked.set(id, true);
    this.#epoch++;
    this.#clearUntil.clear();
  }

  /** Marks the filter as possibly stale, e.g. when the Redis connection drops. */
  markSuspect(): void {
    this.#suspectSince ??= this.#now();
  }

  /**
   * Whether any of `ids` is revoked. Answered at once when this worker's memory or copy settles
   * it (most tokens), else with a promise; throws (or rejects with) DependencyUnavailableError if
   * that cannot be known.
   */
  anyRevoked(ids: readonly string[]): boolean | Promise<boolean> {
    for (const id of ids) if (this.#revoked.get(id)) return true;
    const now = this.#now();
    let unsure = ids;
    const copy = this.#trustedCopy(now);
    if (copy !== undefined) {
      let maybe: string[] | undefined;
      for (const id of ids) if (copy.mightContain(id)) (maybe ??= []).push(id);
      if (maybe === undefined) return false;
      unsure = maybe;
    }
    // Ids found clear a moment ago are not asked again: a token's ancestors (its app token, the
    // agent that minted it) are shared by every token minted from them, so most lineages need
    // only their own new id checked.
    if (this.#listening) {
      unsure = unsure.filter((id) => !((this.#clearUntil.get(id) ?? 0) > now));
      if (unsure.length === 0) return false;
    }
    return this.#askStores(ids, unsure, now);
  }

  /** The rest of {@link anyRevoked}: the Redis filter for `unsure`, Postgres if it cannot say. */
  async #askStores(
    ids: readonly string[],
    unsure: readonly string[],
    now: number,
  ): Promise<boolean> {
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
    this.#copyAdd(entries.map((e) => e.jti));
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
   * Loads the worker's copy of the revoked ids from Postgres (every revocation not yet expired),
   * in the background of the checks: the copy in use, if any, serves until the new one is
   * complete. The new copy is trusted only if this worker heard revocations throughout the load.
   */
  loadCopy(): Promise<void> {
    if (this.#copyTrustMs <= 0) return Promise.resolve();
    this.#loadingCopy ??= (async () => {
      const sync = this.#syncStart();
      const copy = new RevocationCopy(this.#opts.copyBloom);
      this.#nextCopy = copy;
      try {
        for await (const batch of this.#record.unexpired()) copy.add(batch.map((e) => e.jti));
        this.#copy = copy;
        this.#copyReloadAt = sync.started + this.#copyReloadMs * (1 + Math.random() / 10);
        this.#copySynced(sync);
        this.#opts.onEvent?.({ type: 'copy-loaded', entries: copy.added });
      } catch (error) {
        this.#opts.onEvent?.({ type: 'record-unavailable', error });
      } finally {
        this.#nextCopy = undefined;
        this.#loadingCopy = undefined;
      }
    })();
    return this.#loadingCopy;
  }

  /**
   * A sync starting now. It has been heard throughout if this worker was listening then and has
   * not stopped or restarted listening since.
   */
  #syncStart(): SyncStart {
    const listenings = this.#listenings;
    const listened = this.#listening;
    return {
      started: this.#now(),
      heardThroughout: () => listened && listenings === this.#listenings,
    };
  }

  /**
   * The copy holds every revocation recorded before the sync started; it is trusted for
   * copyTrustMs from then if nothing can have been missed since (revocations heard throughout).
   */
  #copySynced(sync: SyncStart): void {
    this.#copySyncedFrom = sync.started;
    this.#copyTrustedUntil = sync.heardThroughout() ? sync.started + this.#copyTrustMs : 0;
  }

  /**
   * Copies recent revocations from Postgres into the worker's copy, its memory and the filter.
   * Run periodically; after an outage it covers everything since the filter became suspect (or the
   * copy last synced), and only then is the filter trusted again. Loads the copy when it has none
   * or its hour is up (without waiting for it).
   */
  async resync(windowMs = 5_000): Promise<void> {
    const sync = this.#syncStart();
    const started = sync.started;
    if (this.#copyTrustMs > 0 && (this.#copy === undefined || started >= this.#copyReloadAt)) {
      void this.loadCopy();
    }
    const suspect = this.#suspectSince;
    // A revocation's revoked_at is when its transaction began; the window covers one that began
    // before the last sync and committed after it.
    const from = Math.min(suspect ?? started, this.#copySyncedFrom ?? started);
    const entries = await this.#record.revokedSince(Math.floor((from - windowMs) / 1000));
    const ids = entries.map((e) => e.jti);
    this.#copyAdd(ids);
    if (this.#copy !== undefined) this.#copySynced(sync);
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
    if (!(await this.#filter.isReady())) {
      this.#opts.onEvent?.({ type: 'filter-unready' });
      await this.rebuild();
    }
    await this.#filter.add(entries);
    if (suspect !== undefined && this.#suspectSince === suspect) {
      this.#suspectSince = undefined;
      this.#opts.onEvent?.({ type: 'filter-resynced', entries: entries.length });
    }
  }
}
