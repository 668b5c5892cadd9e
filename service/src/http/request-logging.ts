/**
 * Per-request logging made cheap for the requests that log nothing but their access line.
 *
 * Profiles of a busy worker (bench/README.md) put two costs on every request: Fastify makes a
 * pino child logger for each request (`logger.child({ reqId })`, a new logger object with its
 * bindings serialised), and pino formats the access line through its generic path (serializers,
 * hooks, per-key stringify). Most requests never use the child at all, and the access line has
 * fixed, known fields. So:
 *
 * - {@link lazyChildLoggerFactory}: the request's logger is a small object that knows its level
 *   and makes the real pino child only when a line at an enabled level is written through it
 *   (errors, debug lines). Lines and bindings are exactly what the eager child would write.
 * - {@link JsonLineLog}: the access line, formatted as pino formats it (`level`, `time`, `pid`,
 *   `hostname`, the fields, `msg`) in one template, onto the same destination.
 */
import { hostname } from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions, pino } from 'pino';

/** pino's numeric levels; a level not named here (`silent`) writes nothing. */
const LEVELS: Readonly<Record<string, number>> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
};

function threshold(level: string): number {
  return LEVELS[level] ?? Infinity;
}

/** Whether a logger at `level` writes lines of level `line` (`silent` writes none). */
export function writesAt(level: string, line: string): boolean {
  return (LEVELS[line] ?? -Infinity) >= threshold(level);
}

type LogArgs = [unknown, ...unknown[]];
type LineLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/** A request's logger that becomes a pino child only when a line is written through it. */
class LazyChildLogger {
  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;
  readonly #threshold: number;
  #child: FastifyBaseLogger | undefined;
  readonly level: string;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
    this.level = options.level ?? parent.level;
    this.#threshold = threshold(this.level);
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  #write(level: LineLevel, args: LogArgs): void {
    if (this.#threshold <= (LEVELS[level] as number)) {
      (this.#real()[level] as (...a: LogArgs) => void)(...args);
    }
  }

  fatal(...args: LogArgs): void {
    this.#write('fatal', args);
  }
  error(...args: LogArgs): void {
    this.#write('error', args);
  }
  warn(...args: LogArgs): void {
    this.#write('warn', args);
  }
  info(...args: LogArgs): void {
    this.#write('info', args);
  }
  debug(...args: LogArgs): void {
    this.#write('debug', args);
  }
  trace(...args: LogArgs): void {
    this.#write('trace', args);
  }
  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
}

/**
 * Fastify's `childLoggerFactory` making {@link LazyChildLogger}s. A parent that is not a pino
 * logger (Fastify's silent logger when logging is off) gets its own `child`.
 */
export function lazyChildLoggerFactory(
  logger: FastifyBaseLogger,
  bindings: Bindings,
  options: ChildLoggerOptions,
): FastifyBaseLogger {
  if (typeof logger.level !== 'string' || !(logger.level in LEVELS || logger.level === 'silent')) {
    return logger.child(bindings, options);
  }
  return new LazyChildLogger(logger, bindings, options) as unknown as FastifyBaseLogger;
}

/** The fields of an access line, in the order they are written. */
export interface AccessLine {
  reqId: string;
  method: string;
  path: string;
  status: number;
  ms: number;
}

/**
 * Writes lines in pino's format (`{"level":30,"time":…,"pid":…,"hostname":…,<fields>,"msg":…}`)
 * at `info`, for the access line: its fields are known, so the line is spelled out directly
 * rather than through an object and JSON.stringify (it is written once per request).
 */
export class JsonLineLog {
  readonly #destination: pino.DestinationStream;
  readonly #enabled: boolean;
  readonly #prefix: string;

  constructor(level: string, destination: pino.DestinationStream) {
    this.#destination = destination;
    this.#enabled = writesAt(level, 'info');
    this.#prefix = `,"pid":${process.pid},"hostname":${JSON.stringify(hostname())}`;
  }

  /** The line pino's `info({ reqId, method, path, status, ms }, 'request')` writes. */
  access(line: AccessLine): void {
    if (!this.#enabled) return;
    this.#destination.write(
      `{"level":30,"time":${Date.now()}${this.#prefix},"reqId":${JSON.stringify(line.reqId)},` +
        `"method":${JSON.stringify(line.method)},"path":${JSON.stringify(line.path)},` +
        `"status":${jsonNumber(line.status)},"ms":${jsonNumber(line.ms)},"msg":"request"}\n`,
    );
  }
}

/** A number as JSON.stringify spells it (null if not finite). */
function jsonNumber(n: number): string {
  return Number.isFinite(n) ? String(n) : 'null';
}
