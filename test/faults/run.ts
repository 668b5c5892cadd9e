/**
 * npm run faults [-- --reduced] [-- --only 3,8]: the fault, load and abuse suite (see
 * test/faults/README.md). The table goes to stdout, progress to stderr; exit 1 if anything failed.
 */
import { runSuite } from './suite.js';

const args = process.argv.slice(2);
const onlyAt = args.indexOf('--only');
const only = onlyAt >= 0 ? args[onlyAt + 1]?.split(',') : undefined;
const logsAt = args.indexOf('--logs');
const logDir = logsAt >= 0 ? args[logsAt + 1] : undefined;

try {
  const result = await runSuite({
    profile: args.includes('--reduced') ? 'reduced' : 'full',
    ...(only ? { only } : {}),
    ...(logDir ? { logDir } : {}),
  });
  process.stdout.write(`${result.table}\n`);
  process.stdout.write(
    `\n${result.passed ? 'PASS' : 'FAIL'} in ${(result.durationMs / 1000).toFixed(1)} s; processes left running: ${result.leftovers.length === 0 ? 'none' : result.leftovers.join(', ')}\n`,
  );
  process.exitCode = result.passed ? 0 : 1;
} catch (error) {
  process.stderr.write(
    `error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
}
