/**
 * Shared fixtures for the unit tests of the token core: a fake clock, in-memory stores and a
 * builder for signed tokens whose every claim a test can override or remove.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import type { TokenTtls } from '../../src/config.js';
import { generateEs256KeyPair, type Es256KeyPair } from '../../src/crypto/es256.js';
import { AuthError, type ErrorCode } from '../../src/errors.js';
import { hashAppToken } from '../../src/tokens/app-token-format.js';
import { newTokenId } from '../../src/tokens/ids.js';
import { encodeJws } from '../../src/tokens/jws.js';
import { typOf, type JwtKind } from '../../src/tokens/kinds.js';
import type {
  AppTokenRecord,
  PublicKeyRecord,
  VerifierOptions,
  VerifierStores,
} from '../../src/tokens/verifier.js';

/** The contract's default lifetimes (section 3), in seconds. */
export const DEFAULT_TTLS: TokenTtls = {
  app: 365 * 86_400,
  bearer: 90 * 86_400,
  agent: 24 * 3600,
  subagent: 4 * 3600,
  session: 60 * 60,
  override: 5 * 60,
};

/** Contract section 4's table of who may mint what, copied by hand: rows are parents, columns children. */
export const CONTRACT_TABLE = {
  app: { bearer: true, agent: true, subagent: false, session: true, override: true },
  bearer: { bearer: false, agent: true, subagent: false, session: true, override: true },
  agent: { bearer: false, agent: false, subagent: true, session: false, override: false },
  subagent: { bearer: false, agent: false, subagent: true, session: false, override: false },
  session: { bearer: false, agent: false, subagent: false, session: false, override: true },
  override: { bearer: false, agent: false, subagent: false, session: false, override: false },
} as const;

export const ISSUER = 'quint-auth';
export const AUDIENCE = 'quint';
export const SKEW = 30;
export const MAX_TOKEN_BYTES = 8192;
/** 2026-01-01T00:00:00Z: a fixed "now" for every test. */
export const T0 = 1_767_225_600;

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public seconds: number = T0) {}
  now = (): number => this.seconds;
  advance(by: number): void {
    this.seconds += by;
  }
}

/** A customer with its own signing key, as the key store would hold it. */
export interface Customer {
  id: string;
  kid: string;
  keys: Es256KeyPair;
}

export function newCustomer(): Customer {
  const id = randomUUID();
  return { id, kid: `k-${id.slice(0, 8)}`, keys: generateEs256KeyPair() };
}

/**
 * In-memory stand-ins for the key, app-token and revocation stores, counting their calls. They
 * answer with promises, as stores that go to Postgres or Redis do; with `answerAtOnce`, keys and
 * revocation answers come back (or are thrown) at once, as the real stores do when they know.
 */
export class FakeStores implements VerifierStores {
  readonly keys = new Map<string, PublicKeyRecord>();
  readonly appTokens = new Map<string, AppTokenRecord>();
  readonly revoked = new Set<string>();
  revocationUnavailable: Error | undefined;
  calls = { publicKey: 0, appToken: 0, anyRevoked: 0 };
  readonly #atOnce: boolean;

  constructor(options: { answerAtOnce?: boolean } = {}) {
    this.#atOnce = options.answerAtOnce ?? false;
  }

  addCustomer(c: Customer): void {
    this.keys.set(c.kid, { kid: c.kid, customerId: c.id, publicKey: c.keys.publicKey });
  }

  addAppToken(token: string, record: AppTokenRecord): void {
    this.appTokens.set(hashAppToken(token).toString('hex'), record);
  }

  publicKey(kid: string): PublicKeyRecord | undefined | Promise<PublicKeyRecord | undefined> {
    this.calls.publicKey++;
    const key = this.keys.get(kid);
    return this.#atOnce ? key : Promise.resolve(key);
  }

  async appToken(hash: Buffer): Promise<AppTokenRecord | undefined> {
    this.calls.appToken++;
    return this.appTokens.get(hash.toString('hex'));
  }

  anyRevoked(ids: readonly string[]): boolean | Promise<boolean> {
    this.calls.anyRevoked++;
    const answer = () => {
      if (this.revocationUnavailable) throw this.revocationUnavailable;
      return ids.some((id) => this.revoked.has(id));
    };
    return this.#atOnce ? answer() : Promise.resolve().then(answer);
  }
}

export function verifierOptions(clock: FakeClock, extra: Partial<VerifierOptions> = {}) {
  return {
    issuer: ISSUER,
    audience: AUDIENCE,
    clockSkewSeconds: SKEW,
    maxTokenBytes: MAX_TOKEN_BYTES,
    now: clock.now,
    ...extra,
  } satisfies VerifierOptions;
}

/**
 * The complete, valid claims of a signed token of `kind` for `cid`, as if minted at `now` by an
 * app token (bearer, session, override, agent) or by an agent (subagent, depth 1).
 */
export function validClaims(kind: JwtKind, cid: string, now: number): Record<string, unknown> {
  const exp = now + 600;
  const appId = newTokenId(now + 86_400);
  const chain = kind === 'subagent' ? [appId, newTokenId(exp)] : [appId];
  const claims: Record<string, unknown> = {
    iss: ISSUER,
    sub: 'user-1',
    aud: AUDIENCE,
    iat: now,
    nbf: now,
    exp,
    jti: newTokenId(exp),
    cid,
    scope: 'read write',
    parent_jti: chain[chain.length - 1],
    chain,
  };
  if (kind === 'agent') claims.act = { sub: 'agent:planner' };
  if (kind === 'subagent') {
    claims.act = { sub: 'subagent:helper', act: { sub: 'agent:planner' } };
    claims.depth = 1;
  }
  return claims;
}

/** Signs `claims` as a `kind` token under `kid` with `privateKey`, exactly as given. */
export function signToken(
  kind: JwtKind,
  claims: object,
  kid: string,
  privateKey: KeyObject,
): string {
  return encodeJws({ alg: 'ES256', typ: typOf(kind), kid }, claims, privateKey);
}

export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Runs `fn` and returns the AuthError code it throws; fails the test if it returns or throws something else. */
export async function codeOf(fn: () => unknown): Promise<ErrorCode> {
  let result: unknown;
  try {
    result = await fn();
  } catch (e) {
    if (e instanceof AuthError) return e.code;
    throw e;
  }
  throw new Error(`expected an AuthError, got a result: ${JSON.stringify(result)}`);
}

/** Synchronous {@link codeOf}. */
export function codeOfSync(fn: () => unknown): ErrorCode {
  let result: unknown;
  try {
    result = fn();
  } catch (e) {
    if (e instanceof AuthError) return e.code;
    throw e;
  }
  throw new Error(`expected an AuthError, got a result: ${JSON.stringify(result)}`);
}

/** The P-256 group order n. */
export const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

export function bigFrom(bytes: Buffer): bigint {
  return BigInt(`0x${bytes.toString('hex') || '0'}`);
}

export function bytes32(n: bigint): Buffer {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex');
}

/** The other valid ECDSA signature of the same message: (r, n − s). */
export function highSTwin(signature: Buffer): Buffer {
  const r = signature.subarray(0, 32);
  const s = bigFrom(signature.subarray(32));
  return Buffer.concat([r, bytes32(P256_N - s)]);
}
