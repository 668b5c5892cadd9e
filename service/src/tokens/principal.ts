/**
 * A verified credential, whatever its kind: what the rest of the service knows about the caller.
 */
import type { TokenKind } from './kinds.js';

/** RFC 8693 actor claim: who is acting, and on whose behalf they act in turn. */
export interface Actor {
  sub: string;
  act?: Actor;
}

export interface Principal {
  kind: TokenKind;
  /** The token's id: its `jti`, or an app token's id. */
  jti: string;
  /** Customer id. */
  cid: string;
  sub: string;
  /** Granted scopes; `null` for an app token without a scope list, which may delegate any scope. */
  scopes: string[] | null;
  iat: number;
  /** Not before (seconds); defaults to `iat`. */
  nbf?: number;
  exp: number;
  /** Ids of every ancestor, the app token first and the parent last; empty for an app token. */
  chain: string[];
  act?: Actor;
  /** Subagent nesting depth: 1 for a subagent minted by an agent, up to MAX_SUBAGENT_DEPTH. */
  depth: number;
  /** Signing key id, for signed tokens. */
  kid?: string;
}

/** Every id whose revocation ends this principal: its ancestors' and its own. */
export function lineage(p: Pick<Principal, 'chain' | 'jti'>): string[] {
  return [...p.chain, p.jti];
}
