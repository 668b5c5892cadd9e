/**
 * The cheap per-request logging: lines identical to pino's own, and a request's pino child made
 * only when a line is written through it.
 */
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import {
  JsonLineLog,
  lazyChildLoggerFactory,
  type AccessLine,
} from '../../src/http/request-logging.js';

/** A pino destination that keeps its lines, with the time field made comparable. */
function collector(): { lines: string[]; stream: pino.DestinationStream } {
  const lines: string[] = [];
  return {
    lines,
    stream: { write: (s: string) => void lines.push(s.replace(/"time":\d+/, '"time":0')) },
  };
}

describe('JsonLineLog', () => {
  const access = (over: Partial<AccessLine> = {}): AccessLine => ({
    reqId: 'abc-1',
    method: 'POST',
    path: '/v1/tokens/verify',
    status: 200,
    ms: 1.25,
    ...over,
  });

  it('writes the access line pino writes for the same fields, byte for byte', () => {
    const ours = collector();
    const theirs = collector();
    const lines = [
      access(),
      access({ reqId: 'r', method: 'GET', path: '/a"b\\c\n\u2028é', status: 404, ms: 0 }),
      access({ reqId: 'x'.repeat(64), status: 503, ms: 30000.5 }),
      access({ ms: Number.NaN }),
    ];
    for (const line of lines) {
      new JsonLineLog('info', ours.stream).access(line);
      pino({ level: 'info' }, theirs.stream).info({ ...line }, 'request');
    }
    expect(ours.lines).toEqual(theirs.lines);
    for (const line of ours.lines) expect(line.endsWith('}\n')).toBe(true);
    expect(JSON.parse(ours.lines[1]!)).toMatchObject({ path: '/a"b\\c\n\u2028é', status: 404 });
  });

  it('writes nothing when the level is above info', () => {
    for (const level of ['warn', 'error', 'silent']) {
      const { lines, stream } = collector();
      new JsonLineLog(level, stream).access(access());
      expect(lines).toEqual([]);
    }
    const { lines, stream } = collector();
    new JsonLineLog('debug', stream).access(access());
    expect(lines).toHaveLength(1);
  });
});

describe('lazyChildLoggerFactory', () => {
  const make = (level: string, options: pino.ChildLoggerOptions = {}) => {
    const { lines, stream } = collector();
    const parent = pino({ level, redact: ['token'] }, stream) as FastifyBaseLogger;
    const child = vi.spyOn(parent, 'child');
    const log = lazyChildLoggerFactory(parent, { reqId: 'q-1' }, options);
    return { lines, log, child };
  };

  it('makes no pino child for a request that logs nothing, or only below its level', () => {
    const { lines, log, child } = make('info');
    expect(log.level).toBe('info');
    log.debug('not written');
    log.trace({ x: 1 }, 'not written');
    expect(child).not.toHaveBeenCalled();
    expect(lines).toEqual([]);
  });

  it('writes what the eager child writes: bindings, redaction, the route level', () => {
    const lazy = make('info');
    const eager = collector();
    const eagerLog = pino({ level: 'info', redact: ['token'] }, eager.stream).child({
      reqId: 'q-1',
    });
    for (const log of [lazy.log, eagerLog]) {
      log.info({ token: 'secret', n: 1 }, 'one');
      log.error({ err: { message: 'boom' } }, 'two');
      log.warn('three %s', 'x');
      log.child({ sub: 'y' }).info('four');
    }
    expect(lazy.lines).toEqual(eager.lines);
    expect(lazy.lines.join('')).not.toContain('secret');
    // One child for the request, made at its first line; the second call is that child's own
    // child (pino children inherit the spied method).
    expect(lazy.child.mock.calls).toEqual([
      [{ reqId: 'q-1' }, {}],
      [{ sub: 'y' }, undefined],
    ]);

    // A route's own level (health runs at warn) holds whatever the parent's is.
    const quiet = make('info', { level: 'warn' });
    expect(quiet.log.level).toBe('warn');
    quiet.log.info('not written');
    expect(quiet.lines).toEqual([]);
    quiet.log.warn('written');
    expect(quiet.lines).toHaveLength(1);
    expect(JSON.parse(quiet.lines[0]!)).toMatchObject({ level: 40, reqId: 'q-1', msg: 'written' });
  });

  it('a silent logger writes nothing at any level', () => {
    const { lines, log, child } = make('silent');
    for (const m of ['fatal', 'error', 'warn', 'info', 'debug', 'trace'] as const) log[m]('x');
    expect(lines).toEqual([]);
    expect(child).not.toHaveBeenCalled();
  });
});
