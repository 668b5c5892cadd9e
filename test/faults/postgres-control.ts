/**
 * Stopping the suite's Postgres reliably. `ManagedServer.stop()` signals the process it spawned,
 * which as root is `runuser`, and runuser does not pass SIGINT on to the postmaster, so the
 * stop would wait forever. The postmaster's own pid is in `postmaster.pid`; we signal it first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ManagedServer } from '../../scripts/support/servers.js';
import { descendantPids } from './service-process.js';

/** The postmaster's pid, from its pid file. */
export function postmasterPid(pg: ManagedServer): number | undefined {
  try {
    const pid = Number(readFileSync(join(pg.dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Fast shutdown (SIGINT to the postmaster), then waits for the spawned process to exit. */
export async function stopPostgres(pg: ManagedServer): Promise<void> {
  if (!pg.running) return;
  const pid = postmasterPid(pg);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGINT');
    } catch {
      /* already gone */
    }
  }
  await pg.stop();
}

/**
 * Stops Postgres as above and removes its data folder. If it has not stopped within 15 s, every
 * process of the cluster is killed: the suite must leave nothing running.
 */
export async function destroyPostgres(pg: ManagedServer): Promise<void> {
  const stopped = await Promise.race([
    stopPostgres(pg).then(() => true),
    sleep(15_000).then(() => false),
  ]);
  if (!stopped) {
    const pid = postmasterPid(pg);
    for (const p of pid === undefined ? [] : [...descendantPids(pid), pid]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await pg.kill();
  }
  await pg.destroy();
}
