/**
 * The six token kinds and who may mint what (contract section 4).
 */
import type { TokenTtls } from '../config.js';

export const TOKEN_KINDS = ['app', 'bearer', 'agent', 'subagent', 'session', 'override'] as const;
export type TokenKind = (typeof TOKEN_KINDS)[number];

/** The kinds that are signed JWTs (everything but the opaque app token). */
export const JWT_KINDS = ['bearer', 'agent', 'subagent', 'session', 'override'] as const;
export type JwtKind = (typeof JWT_KINDS)[number];

/** Subagent tokens may be nested this deep: agent → subagent (1) → … → subagent (4). */
export const MAX_SUBAGENT_DEPTH = 4;

const MAY_MINT: Readonly<Record<TokenKind, readonly JwtKind[]>> = {
  app: ['bearer', 'agent', 'session', 'override'],
  bearer: ['agent', 'session', 'override'],
  agent: ['subagent'],
  subagent: ['subagent'],
  session: ['override'],
  override: [],
};

/** Whether a token of kind `parent` may mint one of kind `child` (depth aside). */
export function mayMint(parent: TokenKind, child: TokenKind): boolean {
  return (MAY_MINT[parent] as readonly string[]).includes(child);
}

export function isJwtKind(value: unknown): value is JwtKind {
  return typeof value === 'string' && (JWT_KINDS as readonly string[]).includes(value);
}

/** The JWS `typ` header of a kind, e.g. `agent+jwt`. */
export function typOf(kind: JwtKind): string {
  return `${kind}+jwt`;
}

/** The kind whose `typ` this is, if any. */
export function kindOfTyp(typ: unknown): JwtKind | undefined {
  if (typeof typ !== 'string' || !typ.endsWith('+jwt')) return undefined;
  const kind = typ.slice(0, -4);
  return isJwtKind(kind) ? kind : undefined;
}

/** A kind's longest lifetime, in seconds. */
export function ttlOf(kind: TokenKind, ttls: TokenTtls): number {
  return ttls[kind];
}
