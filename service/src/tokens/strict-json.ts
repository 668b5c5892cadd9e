/**
 * JSON.parse keeps the last of duplicate member names, so `{"scope":"a","scope":"admin"}` would
 * read differently here than in a verifier that keeps the first. Token headers and payloads are
 * parsed with this instead: standard JSON, objects only, duplicate names refused, bounded depth.
 */

export class StrictJsonError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StrictJsonError';
  }
}

const MAX_DEPTH = 16;
/** Numbers and literals, matched where the parser stands (sticky). */
const SCALAR = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?|true|false|null/y;
/** At most this many characters of a number are read; what follows is then refused. */
const MAX_SCALAR_CHARS = 64;
const SCALAR_PREFIX = /^(?:-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/;

/**
 * Parses `text` as a JSON object, refusing duplicate member names at any depth and nesting
 * deeper than 16 levels.
 *
 * Token verification runs this twice per token. Text in the one spelling JSON.stringify gives
 * (every token we mint) is read by the engine's own parser (`readCanonicalJsonObject`, about a
 * quarter of the time); anything else by `readJsonObjectStrictly`. Both give the same answer.
 */
export function parseStrictJsonObject(text: string): Record<string, unknown> {
  return readCanonicalJsonObject(text) ?? readJsonObjectStrictly(text);
}

/**
 * The object `text` spells if `text` is exactly JSON.stringify's spelling of it, else undefined.
 *
 * Why that is safe: JSON.parse keeps one of duplicate names, so the re-spelling of an object read
 * from text with duplicates has fewer members than the text and cannot equal it; whitespace,
 * other number or escape spellings and trailing text cannot survive the round trip either. Depth
 * is checked on the result (conservatively: a container at depth 16 sends the text to the strict
 * reader, which decides). Nested objects keep Object.prototype here and have none there; nothing
 * reads claims through the prototype, and `__proto__` is an own member either way.
 */
export function readCanonicalJsonObject(text: string): Record<string, unknown> | undefined {
  if (text.charCodeAt(0) !== 0x7b /* { */) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (JSON.stringify(parsed) !== text) return undefined;
  if (!fewerOpeningsThan(text, MAX_DEPTH) && !shallowerThanLimit(parsed, 0)) return undefined;
  return parsed as Record<string, unknown>;
}

/** The characters that open a JSON container. */
const OPENINGS = ['{', '['] as const;

/**
 * Whether `text` has fewer than `limit` brackets and braces that open (counted anywhere, strings
 * included): then nothing in it nests `limit` deep, and the walk over the parsed value (which
 * allocated ~0.6 KB for every token) is not needed. Our payloads open 2-4.
 */
function fewerOpeningsThan(text: string, limit: number): boolean {
  let n = 0;
  for (const opening of OPENINGS) {
    for (let i = text.indexOf(opening); i !== -1; i = text.indexOf(opening, i + 1)) {
      if (++n >= limit) return false;
    }
  }
  return true;
}

function shallowerThanLimit(v: unknown, depth: number): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (depth >= MAX_DEPTH) return false;
  if (Array.isArray(v)) return v.every((x) => shallowerThanLimit(x, depth + 1));
  for (const key in v) {
    if (!shallowerThanLimit((v as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/**
 * Parses `text` as a JSON object, refusing duplicate member names at any depth, character by
 * character. It avoids needless garbage: duplicates are found on the object being built (it has
 * no prototype, so `in` sees only its own members) rather than in a set of their own, and scalars
 * are matched where they stand rather than on a copy.
 */
export function readJsonObjectStrictly(text: string): Record<string, unknown> {
  let i = 0;
  const n = text.length;
  const ws = () => {
    for (;;) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) i++;
      else return;
    }
  };
  const fail = (what: string): never => {
    throw new StrictJsonError(`${what} at offset ${i}`);
  };
  /**
   * A string at `i`. Member names without escapes are sliced (they become property keys, which
   * V8 stores as copies); values go through JSON.parse, which also decodes escapes, so that a
   * value kept by a cache is a string of its own rather than a slice pinning the whole text.
   */
  const str = (name: boolean): string => {
    const start = i;
    let escaped = false;
    i++; // opening quote
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return name && !escaped
          ? text.slice(start + 1, i - 1)
          : (JSON.parse(text.slice(start, i)) as string);
      }
      if (c === 0x5c) {
        escaped = true;
        i += 2;
      } else if (c < 0x20) fail('control character in string');
      else i++;
    }
    return fail('unterminated string');
  };
  const value = (depth: number): unknown => {
    if (depth > MAX_DEPTH) fail('nesting too deep');
    ws();
    const c = text.charCodeAt(i);
    if (c === 0x7b /* { */) {
      i++;
      const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
      ws();
      if (text.charCodeAt(i) === 0x7d /* } */) {
        i++;
        return out;
      }
      for (;;) {
        ws();
        if (text.charCodeAt(i) !== 0x22) fail('expected member name');
        const key = str(true);
        if (key in out) fail(`duplicate member "${key}"`);
        ws();
        if (text.charCodeAt(i) !== 0x3a /* : */) fail('expected ":"');
        i++;
        out[key] = value(depth + 1);
        ws();
        const next = text.charCodeAt(i);
        if (next === 0x2c /* , */) {
          i++;
          continue;
        }
        if (next === 0x7d /* } */) {
          i++;
          return out;
        }
        fail('expected "," or "}"');
      }
    }
    if (c === 0x5b /* [ */) {
      i++;
      const out: unknown[] = [];
      ws();
      if (text.charCodeAt(i) === 0x5d /* ] */) {
        i++;
        return out;
      }
      for (;;) {
        out.push(value(depth + 1));
        ws();
        const next = text.charCodeAt(i);
        if (next === 0x2c /* , */) {
          i++;
          continue;
        }
        if (next === 0x5d /* ] */) {
          i++;
          return out;
        }
        fail('expected "," or "]"');
      }
    }
    if (c === 0x22) return str(false);
    SCALAR.lastIndex = i;
    const m = SCALAR.exec(text);
    if (!m) return fail('unexpected character');
    let scalar = m[0];
    if (scalar.length > MAX_SCALAR_CHARS) {
      scalar = (SCALAR_PREFIX.exec(text.slice(i, i + MAX_SCALAR_CHARS)) as RegExpExecArray)[0];
    }
    i += scalar.length;
    if (scalar === 'true') return true;
    if (scalar === 'false') return false;
    if (scalar === 'null') return null;
    return Number(scalar);
  };
  ws();
  if (text.charCodeAt(i) !== 0x7b) fail('expected an object');
  const result = value(0) as Record<string, unknown>;
  ws();
  if (i !== n) fail('trailing characters');
  return { ...result };
}
