/**
 * The steady mixed load: a fixed number of loops, each sending one request at a time (mint,
 * verify or revoke) over loopback, paced to a bounded rate and stopped at a request budget.
 * Every answer is judged against the ledger as it arrives and counted in the current scenario.
 */
import { call, isServerError, type CallResult } from './http.js';
import type { Kind, Ledger, TokenEntry } from './ledger.js';
import type { Op, ScenarioStats } from './stats.js';

export interface LoadOptions {
  concurrency: number;
  /** Pause after each request in each loop (ms): bounds the rate to about concurrency / pause. */
  pauseMs: number;
  /** The load stops by itself after this many requests in all. */
  maxRequests: number;
}

const CHILDREN: Record<Kind, Kind[]> = {
  app: ['bearer', 'agent', 'session', 'override'],
  bearer: ['agent', 'session', 'override'],
  agent: ['subagent'],
  subagent: ['subagent'],
  session: ['override'],
  override: [],
};

function randomOf<T>(items: readonly T[]): T {
  return items[Math.floor(Math.random() * items.length)] as T;
}

/** Judges a mint, verify or revoke answer and records what it means in `stats` and the ledger. */
export function judgeServerError(stats: ScenarioStats, op: Op, res: CallResult): void {
  if (!isServerError(res.status)) return;
  const problem = res.contentType.startsWith('application/problem+json');
  if (res.status !== '503' || !problem) {
    stats.badServerErrors++;
    stats.sample(`${op} answered ${res.status} (${res.contentType}): ${JSON.stringify(res.body)}`);
  }
}

export class Load {
  readonly ledger: Ledger;
  readonly opts: LoadOptions;
  stats: ScenarioStats;
  #targets: string[];
  #next = 0;
  #running = false;
  #loops: Promise<void>[] = [];
  #sent = 0;
  readonly inflight = new Map<string, number>();

  constructor(ledger: Ledger, targets: string[], stats: ScenarioStats, opts: LoadOptions) {
    this.ledger = ledger;
    this.#targets = [...targets];
    this.stats = stats;
    this.opts = opts;
  }

  get sent(): number {
    return this.#sent;
  }

  get exhausted(): boolean {
    return this.#sent >= this.opts.maxRequests;
  }

  /** Where new requests go (a client-side balancer over several instances). */
  setTargets(targets: string[]): void {
    this.#targets = [...targets];
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#loops = Array.from({ length: this.opts.concurrency }, () => this.#loop());
  }

  async stop(): Promise<void> {
    this.#running = false;
    await Promise.all(this.#loops);
    this.#loops = [];
  }

  /** Waits until no request is in flight to `target`. */
  async drained(target: string, timeoutMs = 10_000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while ((this.inflight.get(target) ?? 0) > 0) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 10));
    }
    return true;
  }

  #target(): string {
    this.#next = (this.#next + 1) % this.#targets.length;
    return this.#targets[this.#next] as string;
  }

  async #loop(): Promise<void> {
    while (this.#running && !this.exhausted) {
      this.#sent++;
      await this.step();
      await new Promise((r) => setTimeout(r, this.opts.pauseMs * (0.5 + Math.random())));
    }
  }

  async #send(op: Op, method: string, path: string, init: Parameters<typeof call>[3]) {
    const target = this.#target();
    this.inflight.set(target, (this.inflight.get(target) ?? 0) + 1);
    try {
      const res = await call(target, method, path, init);
      this.stats.count(op, res.status);
      if (res.status === 'timeout')
        this.stats.sample(`${op} timed out after ${res.endedAt - res.startedAt} ms`);
      judgeServerError(this.stats, op, res);
      return res;
    } finally {
      this.inflight.set(target, (this.inflight.get(target) ?? 1) - 1);
    }
  }

  /** One request of the mix. */
  async step(): Promise<void> {
    const r = Math.random();
    if (r < 0.25) return this.verify(this.ledger.pickRevoked() ?? this.#anyEntry());
    if (r < 0.6) return this.verify(this.#anyEntry());
    if (r < 0.92) return this.mint();
    return this.revoke();
  }

  #anyEntry(): TokenEntry | undefined {
    return this.ledger.pick(() => true, 1);
  }

  async verify(entry: TokenEntry | undefined): Promise<void> {
    if (!entry) return;
    const at = Date.now();
    const before = this.ledger.expectation(entry, at);
    const res = await this.#send('verify', 'POST', '/v1/tokens/verify', {
      body: { token: entry.token },
    });
    if (res.status !== '200') return;
    const active = (res.body as { active?: unknown }).active === true;
    if (active && before === 'inactive') {
      this.stats.revokedReportedActive++;
      this.stats.sample(
        `revoked ${entry.kind} ${entry.jti} verified active ${at - (entry.revokedAt ?? at)} ms after its revocation`,
      );
    }
    if (!active && before === 'active' && this.ledger.expectation(entry, Date.now()) === 'active') {
      this.stats.validWronglyRefused++;
      this.stats.sample(`valid ${entry.kind} ${entry.jti} verified inactive`);
    }
  }

  async mint(): Promise<void> {
    const now = Date.now();
    const parent = this.ledger.pick(
      (e) =>
        CHILDREN[e.kind].length > 0 &&
        !(e.kind === 'subagent' && e.depth >= 4) &&
        this.ledger.expectation(e, now) === 'active',
    );
    if (!parent) return;
    const kind = randomOf(CHILDREN[parent.kind]);
    const body: Record<string, unknown> = { kind };
    if (kind === 'agent' || kind === 'subagent') body.subject = `agent-${this.#sent}`;
    const res = await this.#send('mint', 'POST', '/v1/tokens', {
      body,
      headers: { authorization: `Bearer ${parent.token}` },
    });
    if (res.status === '201') {
      const b = res.body as { token: string; jti: string; expires_at: string };
      this.ledger.add({
        token: b.token,
        jti: b.jti,
        kind,
        customerId: parent.customerId,
        parent,
        depth: kind === 'subagent' ? (parent.kind === 'subagent' ? parent.depth + 1 : 1) : 0,
        expMs: Date.parse(b.expires_at),
        mintedAt: res.endedAt,
      });
      this.stats.minted++;
    } else if (
      res.status === '401' &&
      this.ledger.expectation(parent, now) === 'active' &&
      this.ledger.expectation(parent, Date.now()) === 'active'
    ) {
      this.stats.validWronglyRefused++;
      this.stats.sample(
        `valid ${parent.kind} ${parent.jti} refused as a parent: ${JSON.stringify(res.body)}`,
      );
    }
  }

  async revoke(): Promise<void> {
    const now = Date.now();
    const target = this.ledger.pick(
      (e) => e.kind !== 'app' && this.ledger.expectation(e, now) === 'active',
    );
    if (!target) return;
    const app = this.ledger.appTokens.get(target.customerId);
    const caller = Math.random() < 0.3 || !app ? target : app;
    this.ledger.markRevokeSent(target, now);
    const res = await this.#send('revoke', 'POST', '/v1/tokens/revoke', {
      body: { token: target.token },
      headers: { authorization: `Bearer ${caller.token}` },
    });
    if (res.status === '200') {
      this.ledger.markRevoked(target, res.endedAt);
      this.stats.revoked++;
    } else {
      const definite = /^4\d\d$/.test(res.status);
      this.ledger.markRevokeFailed(target, definite);
      if (definite)
        this.stats.sample(
          `revoke of ${target.jti} refused: ${res.status} ${JSON.stringify(res.body)}`,
        );
    }
  }
}
