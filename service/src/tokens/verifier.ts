/**
 * Verification of any credential we issue: the opaque app token or one of the five signed kinds.
 * The stores (keys, app tokens, revocations) are arguments; this module does no I/O itself.
 *
 * A signed token is accepted only with alg ES256, the `typ` of a known kind (or of the expected
 * one), a `kid` that belongs to the token's own customer, a valid signature, every required
 * claim with the right type, and times within the clock skew. Then its id and every ancestor's
 * id are checked for revocation. Signature and claim checks are remembered per token presented
 * more than once (by the SHA-256 of the whole token string), since they cannot change; revocation
 * is asked every time.
 */
import { hash, type KeyObject } from 'node:crypto';
import { verifyEs256 } from '../crypto/es256.js';
import { AuthError, ErrorCodes } from '../errors.js';
import { hashAppToken, hasValidAppTokenChecksum, looksLikeAppToken } from './app-token-format.js';
import { isTokenId } from './ids.js';
import { decodeJws, SIGNATURE_CHARS, type DecodedJws } from './jws.js';
import { kindOfTyp, MAX_SUBAGENT_DEPTH, type JwtKind, type TokenKind } from './kinds.js';
import { lineage, type Actor, type Principal } from './principal.js';
import { parseScopeClaim } from './scopes.js';
import { LruCache } from '../lru.js';
import { base64urlBits30 } from '../base64url.js';
import { BloomBits } from '../bloom-bits.js';

export interface PublicKeyRecord {
  kid: string;
  customerId: string;
  publicKey: KeyObject;
}

export interface AppTokenRecord {
  id: string;
  customerId: string;
  subject: string;
  scopes: string[] | null;
  /** Seconds since the epoch. */
  issuedAt: number;
  expiresAt: number;
  revoked: boolean;
}

/**
 * What the verifier asks of the stores. `publicKey` and `anyRevoked` may answer at once rather
 * than with a promise when they know (a key in memory, a lineage this worker's copy clears): a
 * token then needs no turn of the event loop between its checks (see `inspect`).
 */
export interface VerifierStores {
  publicKey(kid: string): PublicKeyRecord | undefined | Promise<PublicKeyRecord | undefined>;
  appToken(hash: Buffer): Promise<AppTokenRecord | undefined>;
  /** Whether any of these ids is revoked; throws DependencyUnavailableError if that cannot be known. */
  anyRevoked(ids: readonly string[]): boolean | Promise<boolean>;
}

export interface VerifierOptions {
  issuer: string;
  audience: string;
  clockSkewSeconds: number;
  maxTokenBytes: number;
  /** Seconds since the epoch. */
  now: () => number;
  /**
   * How many verified tokens to remember (default 20,000: about 1.2 KB each, so ~25 MB of a
   * worker's heap, within AUTH_WORKER_HEAP_MB's default with room to spare).
   */
  cacheSize?: number;
}

export interface InspectOptions {
  /** Accept only this kind. */
  kind?: TokenKind;
  /** Accept a token past its `exp` (revoking an expired token is a no-op, not an error). */
  allowExpired?: boolean;
  /** Skip the revocation check. */
  skipRevocation?: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_CHAIN = 8;
/** How many tokens seen more than once are remembered by their exact string (see `#hot`). */
const HOT_TOKENS = 256;
/**
 * Where in the signature `#hot` takes its key: past the 10 characters SeenBefore reads, so that
 * the two draw on different bits.
 */
const HOT_KEY_AT = 10;

/**
 * A signed token's key in the verifier's `#hot` map: 30 bits of its signature (which starts at
 * `mark`), or -1.
 */
function hotKey(token: string, mark: number): number {
  return base64urlBits30(token, mark + HOT_KEY_AT);
}

function invalid(detail: string): AuthError {
  return new AuthError(ErrorCodes.invalidToken, detail);
}

function revokedError(): AuthError {
  return new AuthError(ErrorCodes.tokenRevoked, 'token or one of its ancestors has been revoked');
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function readActor(v: unknown, depth = 0): Actor {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || depth > MAX_SUBAGENT_DEPTH + 1) {
    throw invalid('claim act is not an actor object');
  }
  const o = v as Record<string, unknown>;
  if (typeof o.sub !== 'string' || o.sub.length === 0) throw invalid('claim act has no sub');
  return o.act === undefined ? { sub: o.sub } : { sub: o.sub, act: readActor(o.act, depth + 1) };
}

/** Reads and type-checks a signed token's claims into a principal (no time or signature checks). */
export function principalFromClaims(
  kind: JwtKind,
  kid: string,
  c: Record<string, unknown>,
  opts: VerifierOptions,
): Principal {
  if (c.iss !== opts.issuer) throw invalid('claim iss is not this issuer');
  if (c.aud !== opts.audience) throw invalid('claim aud is not this audience');
  if (typeof c.sub !== 'string' || c.sub.length === 0) throw invalid('claim sub is missing');
  if (!isInt(c.iat)) throw invalid('claim iat is missing or not a whole number');
  if (!isInt(c.exp)) throw invalid('claim exp is missing or not a whole number');
  if (c.nbf !== undefined && !isInt(c.nbf)) throw invalid('claim nbf is not a whole number');
  if (!isTokenId(c.jti)) throw invalid('claim jti is missing or malformed');
  if (typeof c.cid !== 'string' || !UUID.test(c.cid))
    throw invalid('claim cid is missing or malformed');
  if (typeof c.scope !== 'string') throw invalid('claim scope is missing');
  if (!isTokenId(c.parent_jti)) throw invalid('claim parent_jti is missing or malformed');
  const chain = c.chain;
  if (
    !Array.isArray(chain) ||
    chain.length === 0 ||
    chain.length > MAX_CHAIN ||
    !chain.every(isTokenId)
  ) {
    throw invalid('claim chain is missing or malformed');
  }
  if (chain[chain.length - 1] !== c.parent_jti)
    throw invalid('claim chain does not end with parent_jti');
  let act: Actor | undefined;
  let depth = 0;
  if (kind === 'agent' || kind === 'subagent') act = readActor(c.act);
  if (kind === 'subagent') {
    if (!isInt(c.depth) || c.depth < 1 || c.depth > MAX_SUBAGENT_DEPTH)
      throw invalid('claim depth is malformed');
    depth = c.depth;
  }
  const principal: Principal = {
    kind,
    jti: c.jti,
    cid: c.cid,
    sub: c.sub,
    scopes: parseScopeClaim(c.scope),
    iat: c.iat,
    exp: c.exp,
    chain: chain as string[],
    depth,
    kid,
  };
  if (act) principal.act = act;
  if (c.nbf !== undefined) principal.nbf = c.nbf as number;
  return principal;
}

/**
 * Which tokens were verified recently: a bloom filter of 2^18 bits and 3 hashes taken straight
 * from 60 bits of each token's text, emptied after as many additions as it was made for (about
 * 5 % false "seen" just before). The verifier reads them from the start of the token's signature
 * (its r, which only the signer chooses), so a token seen for the first time costs no hashing at
 * all. A token enters the verified-token cache only on its second verification: a token presented
 * once (most of them, for some callers) then leaves nothing behind, where it would otherwise hold
 * a principal in the cache, through young-generation collections into the old generation, until
 * pushed out. A wrong "seen" only costs a cache lookup or a cache entry, never a check.
 */
export class SeenBefore {
  readonly #bits = new BloomBits(1 << 18, 3);
  readonly #capacity: number;
  #added = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /**
   * Whether the item spelled by the 10 base64url characters of `text` from `at` may have been
   * added; true for anything else (there is nothing to tell it by).
   */
  has(text: string, at: number): boolean {
    const h1 = base64urlBits30(text, at);
    const h2 = base64urlBits30(text, at + 5);
    return h1 < 0 || h2 < 0 || this.#bits.has(h1, h2);
  }

  /** Adds the item (as in {@link has}); says whether it may have been added before. */
  add(text: string, at: number): boolean {
    const h1 = base64urlBits30(text, at);
    const h2 = base64urlBits30(text, at + 5);
    if (h1 < 0 || h2 < 0) return true;
    const before = this.#bits.add(h1, h2);
    if (!before && ++this.#added >= this.#capacity) {
      this.#bits.clear();
      this.#added = 0;
    }
    return before;
  }
}

/** Verifies credentials against the given stores. */
export class TokenVerifier {
  readonly #stores: VerifierStores;
  readonly #opts: VerifierOptions;
  readonly #verified: LruCache<string, Principal>;
  /**
   * Tokens presented again (an agent presents its token on every call), by 30 bits of their
   * signature, each with its whole string: a lookup reads five characters and compares the
   * string, where the main cache needs a SHA-256 and a string key would hash all ~700
   * characters of every token presented (a new string each time). A token is found only if it
   * is the very string kept; one that shares the bits is looked up as if not here. Only tokens
   * found in the main cache enter, so tokens seen once never do; when full it is emptied, and
   * the tokens in use come straight back.
   */
  readonly #hot = new Map<number, { token: string; principal: Principal }>();
  /** Tokens verified once recently (see SeenBefore). */
  readonly #seen: SeenBefore;
  /** The principals in the cache (see {@link remembers}). */
  readonly #remembered = new WeakSet<Principal>();

  constructor(stores: VerifierStores, options: VerifierOptions) {
    this.#stores = stores;
    this.#opts = options;
    this.#verified = new LruCache(options.cacheSize ?? 20_000);
    this.#seen = new SeenBefore(Math.max(1_000, 2 * (options.cacheSize ?? 20_000)));
  }

  /**
   * Whether `principal` is one the verifier keeps: the token it came from, presented again, gives
   * this same object (so whatever is derived from it may be kept with it, in a WeakMap).
   */
  remembers(principal: Principal): boolean {
    return this.#remembered.has(principal);
  }

  /** Verifies a credential completely, revocation included; throws AuthError if it is not valid now. */
  authenticate(token: string, kind?: TokenKind): Promise<Principal> {
    return this.inspect(token, kind === undefined ? {} : { kind });
  }

  /** Verifies a credential with the checks `options` asks for. */
  async inspect(token: string, options: InspectOptions = {}): Promise<Principal> {
    return this.inspectNow(token, options);
  }

  /**
   * {@link inspect}, answered at once when every check can be (the key in memory, a revocation
   * answer this worker's memory or copy settles), else with a promise. Throws AuthError at once,
   * or the promise rejects with it. The verify route uses this: an answer known at once then
   * needs no turn of the event loop, and no promise.
   */
  inspectNow(token: string, options: InspectOptions = {}): Principal | Promise<Principal> {
    if (looksLikeAppToken(token)) {
      return this.#appToken(token).then((app) => {
        if (app.revoked && !options.skipRevocation) {
          throw new AuthError(ErrorCodes.tokenRevoked, 'app token has been revoked');
        }
        return this.#unrevoked(this.#inTime(app.principal, options), options);
      });
    }
    // A token seen for the first time (SeenBefore tells it from a few of its characters) is not
    // looked up by its string: that would hash all ~700 characters of a string never seen again.
    const mark = token.length - SIGNATURE_CHARS;
    const seen = this.#seen.has(token, mark);
    const signed =
      (seen ? this.#hotGet(token, mark) : undefined) ?? this.#signed(token, mark, seen);
    if (signed instanceof Promise) {
      return signed.then((principal) => this.#unrevoked(this.#inTime(principal, options), options));
    }
    return this.#unrevoked(this.#inTime(signed, options), options);
  }

  /** `principal` if it is of the kind asked for and valid at this time; throws AuthError if not. */
  #inTime(principal: Principal, options: InspectOptions): Principal {
    if (options.kind !== undefined && principal.kind !== options.kind) {
      throw invalid(`expected a ${options.kind} token, got a ${principal.kind} token`);
    }
    const now = this.#opts.now();
    const skew = this.#opts.clockSkewSeconds;
    if (!options.allowExpired && principal.exp <= now - skew) {
      throw new AuthError(ErrorCodes.tokenExpired, 'token has expired');
    }
    // Not valid before its nbf, nor before it was issued: an iat in the future means a bad clock
    // or a forged token, whatever nbf says.
    const notBefore = Math.max(principal.nbf ?? 0, principal.iat);
    if (notBefore > now + skew) throw invalid('token is not valid yet');
    return principal;
  }

  /** `principal` unless it or an ancestor is revoked (at once when the answer is known). */
  #unrevoked(principal: Principal, options: InspectOptions): Principal | Promise<Principal> {
    if (options.skipRevocation) return principal;
    const revoked = this.#stores.anyRevoked(lineage(principal));
    if (revoked instanceof Promise) {
      return revoked.then((r) => {
        if (r) throw revokedError();
        return principal;
      });
    }
    if (revoked) throw revokedError();
    return principal;
  }

  /** The principal of `token` if it is kept in {@link #hot} (`mark`: where its signature starts). */
  #hotGet(token: string, mark: number): Principal | undefined {
    const entry = this.#hot.get(hotKey(token, mark));
    return entry !== undefined && entry.token === token ? entry.principal : undefined;
  }

  async #appToken(token: string): Promise<{ principal: Principal; revoked: boolean }> {
    if (!hasValidAppTokenChecksum(token))
      throw invalid('app token is malformed or its checksum is wrong');
    const record = await this.#stores.appToken(hashAppToken(token));
    if (!record) throw invalid('unknown app token');
    const principal: Principal = {
      kind: 'app',
      jti: record.id,
      cid: record.customerId,
      sub: record.subject,
      scopes: record.scopes,
      iat: record.issuedAt,
      exp: record.expiresAt,
      chain: [],
      depth: 0,
    };
    return { principal, revoked: record.revoked };
  }

  /**
   * A signed token's principal, checked but for time and revocation (`mark`: where its signature
   * starts; `seen`: what SeenBefore says of the token). Answers at once when the key is in memory,
   * with a promise when it is fetched.
   */
  #signed(token: string, mark: number, seen: boolean): Principal | Promise<Principal> {
    // SeenBefore tells a token seen for the first time (most cold tokens) from its signature's
    // first characters; only a token it may have seen is looked up in the cache. The whole token's
    // SHA-256 stands for it there: equal digests mean equal tokens (collision resistance; only
    // ASCII tokens are ever cached, and no other string has the same UTF-8), and the key is 43
    // characters instead of the token's ~700.
    let cacheKey: string | undefined;
    if (seen) {
      cacheKey = hash('sha256', token, 'base64url');
      const cached = this.#verified.get(cacheKey);
      if (cached) {
        const key = hotKey(token, mark);
        if (key >= 0) {
          if (this.#hot.size >= HOT_TOKENS) this.#hot.clear();
          this.#hot.set(key, { token, principal: cached });
        }
        return cached;
      }
    }
    const jws = decodeJws(token, this.#opts.maxTokenBytes);
    const kind = kindOfTyp(jws.header.typ);
    if (!kind) throw invalid(`typ ${JSON.stringify(jws.header.typ)} is not a token kind`);
    const key = this.#stores.publicKey(jws.header.kid);
    return key instanceof Promise
      ? key.then((k) => this.#verifiedWith(token, mark, cacheKey, jws, kind, k))
      : this.#verifiedWith(token, mark, cacheKey, jws, kind, key);
  }

  /** The rest of {@link #signed}, once the key is known. */
  #verifiedWith(
    token: string,
    mark: number,
    cacheKey: string | undefined,
    jws: DecodedJws,
    kind: JwtKind,
    key: PublicKeyRecord | undefined,
  ): Principal {
    if (!key) throw invalid('unknown kid');
    // Claims are read before the signature is checked only to compare the customer; nothing is
    // trusted until the signature verifies.
    const principal = principalFromClaims(kind, key.kid, jws.payload, this.#opts);
    if (key.customerId !== principal.cid)
      throw invalid("kid does not belong to the token's customer");
    if (!verifyEs256(key.publicKey, jws.signingInput, jws.signature))
      throw invalid('signature does not verify');
    // Remembered from its second verification on: one more signature check per token presented
    // again, instead of a principal kept for every token presented once. Only verified tokens
    // are added, so tokens that fail cannot crowd SeenBefore.
    if (this.#seen.add(token, mark)) {
      this.#verified.set(cacheKey ?? hash('sha256', token, 'base64url'), principal);
      this.#remembered.add(principal);
    }
    return principal;
  }
}
