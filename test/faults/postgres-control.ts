/**
 * Stopping the suite's Postgres reliably. `ManagedServer.stop()` signals the process it spawned,
 * which as root is `runuser`, and runuser does not pass SIGINT on to the postmaster, so the
 * stop would wait forever. The postmaster's own pid is in `postmaster.pid`; we signal it first.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ManagedServer } from '../../scripts/support/servers.js';

function postmasterPid(pg: ManagedServer): number | undefined {
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

/** Stops Postgres as above and removes its data folder. */
export async function destroyPostgres(pg: ManagedServer): Promise<void> {
  await stopPostgres(pg);
  await pg.destroy();
}
