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
 * Token verification runs this for every token's payload. Text that the engine's own parser
 * reads, and in which a count shows no duplicate names (`readJsonObjectQuickly`: every token we
 * mint, in about half the time of the strict reader), is read that way; anything else by
 * `readJsonObjectStrictly`. Both give the same answer.
 */
export function parseStrictJsonObject(text: string): Record<string, unknown> {
  return readJsonObjectQuickly(text) ?? readJsonObjectStrictly(text);
}

/**
 * The object `text` spells, read by JSON.parse, if a count proves the strict reader would read
 * the same; else undefined (the strict reader then decides).
 *
 * Why that is safe: JSON.parse keeps one of duplicate names, so an object read from text with
 * duplicates has fewer members, all objects in it counted, than the text has member names. Every
 * member name is followed by the one colon that stands outside strings in valid JSON, so the
 * names are counted as those colons (`memberNamesOfJson`); equal counts mean no duplicates. The
 * same scan sends deep nesting (more than 16 containers open) and runs of more than 64 characters
 * outside strings (the strict reader's limit on a number) to the strict reader. Nested objects
 * keep Object.prototype here and have none there; nothing reads claims through the prototype, and
 * `__proto__` is an own member either way.
 */
export function readJsonObjectQuickly(text: string): Record<string, unknown> | undefined {
  if (text.charCodeAt(0) !== 0x7b /* { */) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const names = memberNamesOfJson(text);
  if (names < 0 || membersOf(parsed) !== names) return undefined;
  return parsed as Record<string, unknown>;
}

/**
 * How many member names valid JSON `text` has (its colons outside strings), or -1 if more than
 * 16 containers are open at once or more than 64 characters outside strings stand between two
 * structural characters. A string is skipped with `indexOf` to its closing quote: one not preceded
 * by an odd number of backslashes.
 */
function memberNamesOfJson(text: string): number {
  let names = 0;
  let open = 0;
  let run = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (text.charCodeAt(end - 1) === 0x5c /* \ */) {
        let first = end - 1;
        while (text.charCodeAt(first - 1) === 0x5c) first--;
        if ((end - first) % 2 === 0) break;
        end = text.indexOf('"', end + 1);
      }
      if (end === -1) return -1;
      i = end;
      run = 0;
    } else if (c === 0x3a /* : */) {
      names++;
      run = 0;
    } else if (c === 0x2c /* , */) {
      run = 0;
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (++open > MAX_DEPTH) return -1;
      run = 0;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      open--;
      run = 0;
    } else if (++run > MAX_SCALAR_CHARS) {
      return -1;
    }
  }
  return names;
}

/** How many members the objects in `v` have, all of them counted (own members only). */
function membersOf(v: unknown): number {
  if (typeof v !== 'object' || v === null) return 0;
  let n = 0;
  if (Array.isArray(v)) {
    for (const item of v) n += membersOf(item);
    return n;
  }
  for (const key of Object.keys(v)) n += 1 + membersOf((v as Record<string, unknown>)[key]);
  return n;
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
