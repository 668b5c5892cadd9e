/**
 * Token headers and payloads are parsed so that no two readers can disagree about them: duplicate
 * member names are refused at any depth, and only one JSON object is accepted.
 */
import { describe, expect, it } from 'vitest';
import {
  parseStrictJsonObject,
  readJsonObjectQuickly,
  readJsonObjectStrictly,
  StrictJsonError,
} from '../../src/tokens/strict-json.js';

// The public parser (text the engine's parser reads and a count clears, through that parser;
// the rest character by character) and the character-by-character reader alone must give the same answers.
describe.each([
  ['parseStrictJsonObject', parseStrictJsonObject],
  ['readJsonObjectStrictly', readJsonObjectStrictly],
])('%s', (_name, parseStrictJsonObject) => {
  it('reads what JSON.parse reads for ordinary objects', () => {
    const text =
      '{ "s": "a\\"b\\\\c\\u00e9\\n", "n": -1.5e3, "i": 0, "t": true, "f": false, "z": null,' +
      ' "a": [1, [2, {"x": []}], {}], "o": {"p": {"q": "r"}}, "": "empty name" }';
    expect(parseStrictJsonObject(text)).toEqual(JSON.parse(text));
  });

  it.each([
    ['at the top level', '{"scope":"read","scope":"admin"}'],
    ['when the second spelling is escaped', '{"scope":"read","\\u0073cope":"admin"}'],
    ['inside a nested object', '{"act":{"sub":"a","sub":"b"}}'],
    ['inside an object in an array', '{"chain":[{"x":1,"x":2}]}'],
    ['deep down', '{"a":{"b":{"c":{"d":1,"d":1}}}}'],
    ['even with identical values', '{"exp":1,"exp":1}'],
  ])('refuses a duplicate member name %s', (_where, text) => {
    expect(() => parseStrictJsonObject(text)).toThrow(/duplicate member/);
  });

  it('allows the same name in sibling objects', () => {
    expect(parseStrictJsonObject('{"a":{"x":1},"b":{"x":2}}')).toEqual({
      a: { x: 1 },
      b: { x: 2 },
    });
  });

  it.each([
    ['an array', '[1]'],
    ['a string', '"x"'],
    ['a number', '1'],
    ['null', 'null'],
    ['nothing', ''],
    ['two objects', '{}{}'],
    ['trailing garbage', '{"a":1}x'],
    ['a trailing comma', '{"a":1,}'],
    ['a trailing comma in an array', '{"a":[1,]}'],
    ['single quotes', "{'a':1}"],
    ['an unquoted name', '{a:1}'],
    ['a leading zero', '{"a":01}'],
    ['a bare minus', '{"a":-}'],
    ['NaN', '{"a":NaN}'],
    ['a raw newline in a string', '{"a":"x\ny"}'],
    ['a bad escape', '{"a":"\\x41"}'],
    ['an unterminated string', '{"a":"x'],
    ['an unterminated object', '{"a":1'],
    ['a comment', '{"a":1 /* c */}'],
  ])('refuses %s', (_what, text) => {
    expect(() => parseStrictJsonObject(text)).toThrow();
  });

  it('refuses nesting deeper than 16 levels but allows 16', () => {
    const nest = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    expect(() => parseStrictJsonObject(nest(16))).not.toThrow();
    expect(() => parseStrictJsonObject(nest(17))).toThrow(StrictJsonError);
    expect(() => parseStrictJsonObject('{"a":' + '['.repeat(40) + ']'.repeat(40) + '}')).toThrow(
      StrictJsonError,
    );
  });

  it('gives "__proto__" no special meaning', () => {
    const o = parseStrictJsonObject('{"__proto__":{"admin":true}}');
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype);
    expect((o as { admin?: unknown }).admin).toBeUndefined();
    expect(Object.keys(o)).toEqual(['__proto__']);
  });

  it('tolerates JSON whitespace around tokens', () => {
    expect(parseStrictJsonObject(' \t\r\n{ "a" :\n[ 1 , 2 ] }\n')).toEqual({ a: [1, 2] });
  });
});

/** A small seeded generator, so that a failure names a case that can be replayed. */
function prng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * JSON text written by hand rather than by JSON.stringify, so that it can hold what tokens must
 * not: duplicate names (often), other spellings of numbers and strings, whitespace, deep nesting.
 */
function randomJsonText(rand: () => number, depth = 0): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  const space = () => (rand() < 0.05 ? pick([' ', '\n', '\t ']) : '');
  const str = () =>
    pick([
      '"a"',
      '"b"',
      '"\\u0061"',
      '"sub"',
      '"__proto__"',
      '"é"',
      '"\\ud800"',
      '"x\\"y"',
      '""',
      // What the count of names must see through: colons, quotes and backslashes in strings.
      '"a:b"',
      '"\\":"',
      '"\\\\"',
      '"\\\\\\":\\\\"',
    ]);
  const roll = rand();
  if (depth < 18 && roll < 0.35) {
    const n = Math.floor(rand() * 4);
    const members = Array.from(
      { length: n },
      () => `${space()}${str()}${space()}:${randomJsonText(rand, depth + 1)}`,
    );
    return `{${members.join(',')}}`;
  }
  if (depth < 18 && roll < 0.5) {
    const n = Math.floor(rand() * 3);
    return `[${Array.from({ length: n }, () => randomJsonText(rand, depth + 1)).join(',')}]`;
  }
  if (roll < 0.75) return str();
  return pick(['1', '-1', '1.0', '1e2', '100', '0', '-0', '1.5', 'true', 'false', 'null']);
}

function outcome(parse: (t: string) => Record<string, unknown>, text: string): string {
  try {
    return `ok ${JSON.stringify(parse(text))}`;
  } catch (e) {
    return e instanceof StrictJsonError || e instanceof SyntaxError ? 'refused' : `threw ${e}`;
  }
}

describe("the quick path (the engine's parser and a count of names)", () => {
  it('agrees with the strict reader on 20,000 generated texts, duplicates and deep nesting included', () => {
    const rand = prng(20261128);
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 20_000; i++) {
      const generated = `{"k":${randomJsonText(rand)}}`;
      // Half of the texts are respelled by JSON.stringify where they can be: no duplicates, no
      // whitespace. The other half keep both as generated.
      let text = generated;
      if (i % 2 === 0) {
        try {
          text = JSON.stringify(JSON.parse(generated));
        } catch {
          // not JSON at all; kept as it is
        }
      }
      const strict = outcome(readJsonObjectStrictly, text);
      expect(outcome(parseStrictJsonObject, text), text).toBe(strict);
      const quick = readJsonObjectQuickly(text);
      if (quick !== undefined) {
        accepted++;
        expect(`ok ${JSON.stringify(quick)}`, text).toBe(strict);
      }
      if (strict === 'refused') refused++;
    }
    // The generator reaches both paths and both answers.
    expect(accepted).toBeGreaterThan(5_000);
    expect(refused).toBeGreaterThan(500);
  });

  it('leaves duplicates, deep nesting and long runs outside strings to the strict reader', () => {
    for (const text of [
      '{"exp":1,"exp":1}',
      '{"exp" :1,"exp":1}',
      '{"a":{"b":1,"b":2},"c":0}',
      '{"a\\\\":1,"a\\\\":2}',
      '{"a":' + '['.repeat(16) + ']'.repeat(16) + '}',
      '{"a":1' + '0'.repeat(64) + '}',
      '{"a":' + ' '.repeat(70) + '1}',
      ' {"a":1}',
    ]) {
      expect(readJsonObjectQuickly(text), text).toBeUndefined();
    }
    const nest = (n: number) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
    expect(readJsonObjectQuickly(nest(16))).toBeDefined();
    expect(readJsonObjectQuickly(nest(17))).toBeUndefined();
    expect(readJsonObjectQuickly('{"a":1' + '0'.repeat(63) + '}')).toEqual({ a: 1e63 });
  });

  it('reads other spellings, and names and strings holding colons, quotes and backslashes', () => {
    for (const text of [
      '{"a":1.0}',
      '{"a":"\\u0061"}',
      '{ "a" : 1 ,\n "b" : [ 1 , 2 ] }',
      '{"a:b":"c:d","e":"\\":","f\\\\":"\\\\\\":"}',
    ]) {
      expect(readJsonObjectQuickly(text), text).toEqual(readJsonObjectStrictly(text));
    }
    // Many brackets but shallow, or inside strings: only open containers count.
    expect(readJsonObjectQuickly('{"a":[' + '[],'.repeat(40) + '[]]}')).toEqual({
      a: Array.from({ length: 41 }, () => []),
    });
    expect(readJsonObjectQuickly('{"a":"' + '{['.repeat(40) + '","b":[[],[]]}')).toEqual({
      a: '{['.repeat(40),
      b: [[], []],
    });
    expect(readJsonObjectQuickly('{"a":[1,{"b":null}],"c":"é"}')).toEqual({
      a: [1, { b: null }],
      c: 'é',
    });
  });
});
