/**
 * Splits a SQL script into statements so that a failing migration can name the one that failed.
 * Understands quotes, dollar quoting and both comment styles; that is all a migration needs.
 */

const IDENT = /[A-Za-z0-9_$]/;

export interface SqlStatement {
  text: string;
  /** 1-based line of the statement's first character in the file. */
  line: number;
}

export function splitSqlStatements(script: string): SqlStatement[] {
  const out: SqlStatement[] = [];
  let start = 0;
  let i = 0;
  const push = (end: number) => {
    const raw = script.slice(start, end);
    const lead = raw.length - raw.trimStart().length;
    const text = stripComments(raw).replace(/;\s*$/, '').trim();
    if (text !== '') {
      const line = script.slice(0, start + lead).split('\n').length;
      out.push({ text: raw.trim(), line });
    }
  };
  while (i < script.length) {
    const c = script[i];
    const next = script[i + 1];
    if (c === '-' && next === '-') {
      const nl = script.indexOf('\n', i);
      i = nl === -1 ? script.length : nl + 1;
    } else if (c === '/' && next === '*') {
      // Block comments nest in Postgres.
      let depth = 1;
      let j = i + 2;
      while (j < script.length && depth > 0) {
        if (script[j] === '/' && script[j + 1] === '*') {
          depth++;
          j += 2;
        } else if (script[j] === '*' && script[j + 1] === '/') {
          depth--;
          j += 2;
        } else j++;
      }
      i = j;
    } else if (c === "'" || c === '"') {
      // E'…' strings take backslash escapes; others only doubled quotes.
      const escapes =
        c === "'" && /[eE]/.test(script[i - 1] ?? '') && !IDENT.test(script[i - 2] ?? '');
      let j = i + 1;
      while (j < script.length) {
        if (escapes && script[j] === '\\') j += 2;
        else if (script[j] === c) {
          if (script[j + 1] === c) j += 2;
          else break;
        } else j++;
      }
      i = j + 1;
    } else if (c === '$' && !IDENT.test(script[i - 1] ?? '')) {
      const m = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(script.slice(i));
      if (m) {
        const end = script.indexOf(m[0], i + m[0].length);
        i = end === -1 ? script.length : end + m[0].length;
      } else i++;
    } else if (c === ';') {
      push(i + 1);
      start = i + 1;
      i++;
    } else i++;
  }
  push(script.length);
  return out;
}

function stripComments(sql: string): string {
  return sql.replace(/--[^\n]*/g, '').replace(/\/\*[\s\S]*?\*\//g, '');
}
