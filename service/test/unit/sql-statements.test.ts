/**
 * The migration runner splits scripts into statements so a failure can name the statement and its
 * line. Semicolons inside quotes, dollar quotes and comments must not split.
 */
import { describe, expect, it } from 'vitest';
import { splitSqlStatements } from '../../src/db/sql-statements.js';

const texts = (sql: string) => splitSqlStatements(sql).map((s) => s.text);

describe('splitSqlStatements', () => {
  it('splits on semicolons, keeping each statement with its semicolon, trimmed', () => {
    expect(texts('CREATE TABLE a (x int);\n  INSERT INTO a VALUES (1);\n')).toEqual([
      'CREATE TABLE a (x int);',
      'INSERT INTO a VALUES (1);',
    ]);
  });

  it('keeps a last statement without a semicolon', () => {
    expect(texts('SELECT 1;\nSELECT 2')).toEqual(['SELECT 1;', 'SELECT 2']);
  });

  it('does not split inside single-quoted strings, including doubled quotes', () => {
    expect(texts("INSERT INTO t VALUES ('a;b', 'it''s; fine');SELECT 1;")).toEqual([
      "INSERT INTO t VALUES ('a;b', 'it''s; fine');",
      'SELECT 1;',
    ]);
  });

  it('does not split inside double-quoted identifiers', () => {
    expect(texts('CREATE TABLE "we;ird" ("a""b;" int);SELECT 1;')).toEqual([
      'CREATE TABLE "we;ird" ("a""b;" int);',
      'SELECT 1;',
    ]);
  });

  it('does not split inside $$ or $tag$ bodies, even with other tags and quotes inside', () => {
    const fn = `CREATE FUNCTION f() RETURNS void AS $body$
BEGIN
  PERFORM 1; -- a comment; with semicolons
  EXECUTE $$SELECT 'x;y'$$;
  RAISE NOTICE 'it''s';
END;
$body$ LANGUAGE plpgsql;`;
    const sql = `${fn}\nDO $$ BEGIN PERFORM 2; END $$;\nSELECT 3;`;
    expect(texts(sql)).toEqual([fn, 'DO $$ BEGIN PERFORM 2; END $$;', 'SELECT 3;']);
  });

  it('treats $1 as a parameter, not a dollar quote', () => {
    expect(texts('PREPARE p AS SELECT $1;SELECT 2;')).toEqual([
      'PREPARE p AS SELECT $1;',
      'SELECT 2;',
    ]);
  });

  it('ignores semicolons and quotes inside -- and /* */ comments', () => {
    expect(texts("SELECT 1 -- don't; split\n;SELECT /* it's; */ 2;")).toEqual([
      "SELECT 1 -- don't; split\n;",
      "SELECT /* it's; */ 2;",
    ]);
  });

  it('drops pieces that are only whitespace or comments', () => {
    expect(texts('-- header\n\n/* block */\nSELECT 1;\n-- trailing comment\n  \n')).toEqual([
      '-- header\n\n/* block */\nSELECT 1;',
    ]);
    expect(splitSqlStatements('')).toEqual([]);
    expect(splitSqlStatements('  -- nothing\n/* at all */\n')).toEqual([]);
  });

  it('gives each statement the 1-based line on which its text starts', () => {
    const sql = 'SELECT 1;\n\n\n  CREATE TABLE t (\n  x int\n);\nSELECT\n2; SELECT 3;';
    const lines = sql.split('\n');
    const out = splitSqlStatements(sql);
    expect(out.map((s) => s.line)).toEqual([1, 4, 7, 8]);
    for (const s of out) {
      expect(lines[s.line - 1]).toContain(s.text.split('\n')[0]);
    }
  });

  it('counts lines inside strings, dollar quotes and comments that come before a statement', () => {
    const sql = "SELECT 'a\nb';\nDO $$\n;\n$$;\n/* x\ny */ SELECT 9;";
    expect(splitSqlStatements(sql).map((s) => [s.line, s.text.split('\n')[0]])).toEqual([
      [1, "SELECT 'a"],
      [3, 'DO $$'],
      [6, '/* x'],
    ]);
  });

  it('does not hang or throw on unterminated quotes, dollar quotes or comments', () => {
    for (const sql of ["SELECT 'x;", 'SELECT "x;', 'DO $$ x;', 'SELECT 1 /* x;']) {
      expect(splitSqlStatements(sql)).toHaveLength(1);
    }
  });
});

describe('splitSqlStatements: the rarer Postgres forms', () => {
  it("honours backslash escapes in E'…' strings", () => {
    expect(splitSqlStatements("SELECT E'it\\'s; x'; SELECT 2;").map((s) => s.text)).toEqual([
      "SELECT E'it\\'s; x';",
      'SELECT 2;',
    ]);
  });

  it('treats nested block comments as one comment', () => {
    expect(splitSqlStatements('/* a /* b; */ c; */ SELECT 1;').map((s) => s.text)).toEqual([
      '/* a /* b; */ c; */ SELECT 1;',
    ]);
  });

  it('drops empty statements between semicolons', () => {
    expect(splitSqlStatements('SELECT 1;;').map((s) => s.text)).toEqual(['SELECT 1;']);
  });

  it('reads a $ inside an identifier as part of it, not as a dollar quote', () => {
    expect(splitSqlStatements('SELECT a$b$c FROM t; SELECT 2').map((s) => s.text)).toEqual([
      'SELECT a$b$c FROM t;',
      'SELECT 2',
    ]);
  });
});
