/**
 * A worker's log destination: lines are gathered in memory and handed to sonic-boom (pino's
 * asynchronous writer) a block at a time.
 *
 * Profiles of a busy worker (bench/README.md) showed both ends of a line-at-a-time writer: each
 * `fs.write` cost far more than its bytes, so writes should be few and large; but sonic-boom
 * gathers lines by string concatenation and measures the UTF-8 length of its whole pending block
 * on every line, so the larger its block, the more each line costs. Here a line costs an array
 * push, and sonic-boom sees one string per block.
 *
 * Lines wait at most `flushMs`. `flushSync` writes out everything (on close and at process exit);
 * a process killed outright (SIGKILL, out of memory) loses what it held: at most one block or
 * `flushMs` of lines.
 */
import { pino } from 'pino';

export interface BlockLogOptions {
  /** Hand lines on once this many characters have gathered. */
  blockChars: number;
  /** …or after this many milliseconds, whichever comes first. */
  flushMs: number;
}

export class BlockLogDestination {
  readonly #out: ReturnType<typeof pino.destination>;
  readonly #blockChars: number;
  readonly #timer: NodeJS.Timeout;
  #lines: string[] = [];
  #chars = 0;

  /** Writes to `dest`: a file descriptor (1 for stdout) or a path. */
  constructor(dest: number | string, options: BlockLogOptions) {
    this.#out = pino.destination({ dest, sync: false });
    this.#blockChars = options.blockChars;
    this.#timer = setInterval(() => this.flush(), options.flushMs);
    this.#timer.unref();
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= this.#blockChars) this.flush();
  }

  /** Hands the gathered lines to the writer, which writes them as soon as it is free. */
  flush(): void {
    if (this.#lines.length === 0) return;
    const block = this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    this.#out.write(block);
  }

  /** Writes out everything gathered or pending, synchronously. */
  flushSync(): void {
    this.flush();
    this.#out.flushSync();
  }

  /** Writes out everything and stops the timer. */
  close(): void {
    clearInterval(this.#timer);
    this.flushSync();
  }
}
