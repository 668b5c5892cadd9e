/**
 * A logger for buildApp whose lines are kept, for tests that check what the service logged (and
 * what it did not).
 */
export interface CapturedLog {
  /** The `logger` option of buildApp: pino at `info`, writing here. */
  logger: { level: string; stream: { write: (line: string) => void } };
  /** The messages of the lines at warn or above, in order. */
  warnings: () => string[];
  /** Whether a line with this message was written. */
  has: (msg: string) => boolean;
  /** The first line with this message, all its fields, if one was written. */
  line: (msg: string) => Record<string, unknown> | undefined;
}

export function capturedLog(): CapturedLog {
  const lines: { level: number; msg: string; [field: string]: unknown }[] = [];
  const line = (msg: string) => lines.find((l) => l.msg === msg);
  return {
    logger: {
      level: 'info',
      stream: { write: (text: string) => void lines.push(JSON.parse(text) as (typeof lines)[0]) },
    },
    warnings: () => lines.filter((l) => l.level >= 40).map((l) => l.msg),
    has: (msg) => line(msg) !== undefined,
    line,
  };
}
