/**
 * The worker's log destination: lines in order, in blocks, never held longer than flushMs, and
 * all written out by flushSync / close.
 */
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../test/support/eventually.js';
import { BlockLogDestination } from '../../src/log-destination.js';

const dirs: string[] = [];
const fds: number[] = [];
/** A file to log into, opened as a worker's stdout is: a descriptor, ready at once. */
function tempFile(): { file: string; fd: number } {
  const dir = mkdtempSync(join(tmpdir(), 'quint-log-'));
  dirs.push(dir);
  const file = join(dir, 'out.log');
  const fd = openSync(file, 'a');
  fds.push(fd);
  return { file, fd };
}
afterEach(() => {
  for (const fd of fds.splice(0)) closeSync(fd);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const read = (file: string) => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

describe('BlockLogDestination', () => {
  it('holds lines until a block has gathered, then writes them in order', async () => {
    const { file, fd } = tempFile();
    const d = new BlockLogDestination(fd, { blockChars: 100, flushMs: 60_000 });
    d.write('a'.repeat(40) + '\n');
    d.write('b'.repeat(40) + '\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(read(file)).toBe(''); // 82 characters: not a block yet
    d.write('c'.repeat(40) + '\n');
    await new Promise((r) => setTimeout(r, 100));
    expect(
      read(file)
        .split('\n')
        .map((l) => l[0]),
    ).toEqual(['a', 'b', 'c', undefined]);
    d.close();
  });

  it('writes a lone line within flushMs', async () => {
    const { file, fd } = tempFile();
    const d = new BlockLogDestination(fd, { blockChars: 1 << 20, flushMs: 50 });
    d.write('{"msg":"one"}\n');
    await eventually(() => read(file) !== '', 2000, 'the line on disk');
    expect(read(file)).toBe('{"msg":"one"}\n');
    d.close();
  });

  it('flushSync and close write out everything at once, non-ASCII included', () => {
    const { file, fd } = tempFile();
    const d = new BlockLogDestination(fd, { blockChars: 1 << 20, flushMs: 60_000 });
    const lines = Array.from({ length: 1000 }, (_, i) => `{"i":${i},"s":"é✓"}\n`);
    for (const l of lines.slice(0, 500)) d.write(l);
    d.flushSync();
    expect(read(file)).toBe(lines.slice(0, 500).join(''));
    for (const l of lines.slice(500)) d.write(l);
    d.close();
    expect(read(file)).toBe(lines.join(''));
  });
});
