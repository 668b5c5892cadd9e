/**
 * The suite's own record of every token it minted and every revocation it made, and what each
 * token should therefore verify as at a given moment. It trusts nothing the service says about
 * state: a revocation counts from the moment the service acknowledged it with 200, and the
 * contract gives it one second to take effect everywhere.
 */
export type Kind = 'app' | 'bearer' | 'agent' | 'subagent' | 'session' | 'override';

/** The contract's bound on how long a revocation may take to reach every worker. */
export const REVOCATION_PROPAGATION_MS = 1000;

export interface TokenEntry {
  token: string;
  jti: string;
  kind: Kind;
  customerId: string;
  parent: TokenEntry | undefined;
  /** Subagent nesting depth (1 for an agent's subagent). */
  depth: number;
  /** Expiry, ms since the epoch. */
  expMs: number;
  mintedAt: number;
  /** When a revoke request for this token was first sent and not yet settled. */
  revokeSentAt?: number | undefined;
  /** When the service acknowledged the revocation with 200. */
  revokedAt?: number | undefined;
  /** A revoke request failed without a definite answer (5xx, reset, timeout): settled from the database at audit. */
  revokeUncertain?: boolean;
}

/** What a token must verify as: `active`, `inactive`, or `either` while a revocation is settling. */
export type Expectation = 'active' | 'inactive' | 'either';

export class Ledger {
  readonly entries: TokenEntry[] = [];
  readonly byJti = new Map<string, TokenEntry>();
  readonly revoked: TokenEntry[] = [];
  readonly appTokens = new Map<string, TokenEntry>();

  add(entry: TokenEntry): void {
    this.entries.push(entry);
    this.byJti.set(entry.jti, entry);
    if (entry.kind === 'app') this.appTokens.set(entry.customerId, entry);
  }

  /** What `entry` must verify as for a request started at `at`. */
  expectation(entry: TokenEntry, at: number): Expectation {
    // A 30 s clock skew is allowed on expiry; tokens near their expiry may go either way.
    if (entry.expMs <= at + 2000) return entry.expMs + 32_000 < at ? 'inactive' : 'either';
    let pending = false;
    for (let e: TokenEntry | undefined = entry; e; e = e.parent) {
      if (e.revokedAt !== undefined && e.revokedAt + REVOCATION_PROPAGATION_MS <= at) {
        return 'inactive';
      }
      if (e.revokeSentAt !== undefined || e.revokedAt !== undefined || e.revokeUncertain) {
        pending = true;
      }
    }
    return pending ? 'either' : 'active';
  }

  /** A uniformly random entry matching `pred`, after a bounded number of tries. */
  pick(pred: (e: TokenEntry) => boolean, tries = 12): TokenEntry | undefined {
    for (let i = 0; i < tries && this.entries.length > 0; i++) {
      const e = this.entries[Math.floor(Math.random() * this.entries.length)] as TokenEntry;
      if (pred(e)) return e;
    }
    return undefined;
  }

  pickRevoked(): TokenEntry | undefined {
    if (this.revoked.length === 0) return undefined;
    return this.revoked[Math.floor(Math.random() * this.revoked.length)];
  }

  markRevokeSent(entry: TokenEntry, at: number): void {
    entry.revokeSentAt ??= at;
  }

  markRevoked(entry: TokenEntry, at: number): void {
    if (entry.revokedAt === undefined) {
      entry.revokedAt = at;
      this.revoked.push(entry);
    }
    entry.revokeSentAt = undefined;
    entry.revokeUncertain = false;
  }

  markRevokeFailed(entry: TokenEntry, definite: boolean): void {
    entry.revokeSentAt = undefined;
    if (!definite && entry.revokedAt === undefined) entry.revokeUncertain = true;
  }

  /** Settles uncertain revocations with what the database holds (the record of revocation). */
  settleUncertain(revokedInDb: ReadonlySet<string>, at: number): number {
    let settled = 0;
    for (const e of this.entries) {
      if (!e.revokeUncertain) continue;
      settled++;
      e.revokeUncertain = false;
      if (revokedInDb.has(e.jti)) this.markRevoked(e, at - REVOCATION_PROPAGATION_MS);
    }
    return settled;
  }
}
