/**
 * The bare reference servers of `baseline-server.ts` (floor, HTTP ceiling), started from the
 * compiled bench and waited for until every worker listens.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort } from '../../scripts/support/servers.js';
import { start } from './children.js';
import type { Watched } from './measure.js';
import { childrenOf } from './procfs.js';

export interface Baseline {
  url: string;
  watched: Watched;
  child: ChildProcess;
}

/** `extra`: the verify mode's public JWK x and y; `nodeFlags`: e.g. --cpu-prof. */
export async function startBaselineServer(
  out: string,
  mode: 'floor' | 'verify',
  workers: number,
  extra: string[] = [],
  nodeFlags: string[] = [],
): Promise<Baseline> {
  const port = await freePort();
  const child = start(
    process.execPath,
    [
      ...nodeFlags,
      join(out, 'bench', 'baseline-server.js'),
      mode,
      String(port),
      String(workers),
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  for await (const line of lines) if (line === 'ready') break;
  const watched = { workers: childrenOf(child.pid ?? 0), others: {} };
  return { url: `http://127.0.0.1:${port}`, watched, child };
}
