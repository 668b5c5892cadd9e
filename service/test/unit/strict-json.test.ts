/**
 * Token headers and payloads are parsed so that no two readers can disagree about them: duplicate
 * member names are refused at any depth, and only one JSON object is accepted.
 */
import { describe, expect, it } from 'vitest';
import { parseStrictJsonObject, StrictJsonError } from '../../src/tokens/strict-json.js';

describe('parseStrictJsonObject', () => {
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
