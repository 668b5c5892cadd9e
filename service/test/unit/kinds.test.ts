/**
 * Contract section 4's table of who may mint what, cell by cell, and the `typ` of each kind.
 */
import { describe, expect, it } from 'vitest';
import {
  isJwtKind,
  JWT_KINDS,
  kindOfTyp,
  MAX_SUBAGENT_DEPTH,
  mayMint,
  TOKEN_KINDS,
  ttlOf,
  typOf,
} from '../../src/tokens/kinds.js';
import { CONTRACT_TABLE, DEFAULT_TTLS } from './helpers.js';

const CELLS = TOKEN_KINDS.flatMap((parent) =>
  JWT_KINDS.map((child) => [parent, child, CONTRACT_TABLE[parent][child]] as const),
);

describe('mayMint, against the contract table', () => {
  it('covers all 6 × 5 cells', () => {
    expect(CELLS).toHaveLength(30);
    expect([...TOKEN_KINDS].sort()).toEqual(Object.keys(CONTRACT_TABLE).sort());
  });

  it.each(CELLS)('%s → %s: %s', (parent, child, allowed) => {
    expect(mayMint(parent, child)).toBe(allowed);
  });

  it.each(TOKEN_KINDS)('nothing mints an app token (%s → app)', (parent) => {
    expect(mayMint(parent, 'app')).toBe(false);
  });

  it('allows subagents four deep', () => {
    expect(MAX_SUBAGENT_DEPTH).toBe(4);
  });
});

describe('typ', () => {
  it.each(JWT_KINDS)('%s tokens carry typ "%s+jwt", which maps back to the kind', (kind) => {
    expect(typOf(kind)).toBe(`${kind}+jwt`);
    expect(kindOfTyp(typOf(kind))).toBe(kind);
  });

  it.each([
    'JWT',
    'jwt',
    'app+jwt',
    'Bearer+jwt',
    'bearer',
    'bearer+JWT',
    '+jwt',
    'bearer+jwt ',
    7,
    null,
  ])('%j is not the typ of any signed kind', (typ) => {
    expect(kindOfTyp(typ)).toBeUndefined();
  });

  it('isJwtKind knows the five signed kinds and nothing else', () => {
    for (const k of JWT_KINDS) expect(isJwtKind(k)).toBe(true);
    for (const k of ['app', 'admin', '', 'toString', undefined]) expect(isJwtKind(k)).toBe(false);
  });
});

describe('ttlOf', () => {
  it('reads each kind’s lifetime from the configuration', () => {
    for (const k of TOKEN_KINDS) expect(ttlOf(k, DEFAULT_TTLS)).toBe(DEFAULT_TTLS[k]);
    expect(ttlOf('override', { ...DEFAULT_TTLS, override: 7 })).toBe(7);
  });
});
