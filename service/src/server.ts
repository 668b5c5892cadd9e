/**
 * Process concerns only: read the configuration, check it against the database once, then run
 * AUTH_WORKERS worker processes sharing AUTH_PORT (node:cluster), replace any that dies, and
 * shut down gracefully on SIGTERM or SIGINT.
 */
import cluster, { type Worker } from 'node:cluster';
import closeWithGrace from 'close-with-grace';
import { pino } from 'pino';
import { ConfigError, loadConfig, type Config } from './config.js';
import { preflight } from './preflight.js';
import { loggerOptions, startWorker } from './worker.js';

function configOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
}

async function primary(config: Config): Promise<void> {
  const log = pino(loggerOptions(config));
  for (const warning of config.warnings) log.warn(warning);
  try {
    await preflight(config);
  } catch (error) {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }

  if (config.workerHeapMb > 0) {
    // A later flag wins over NODE_OPTIONS and the primary's own flags.
    cluster.setupPrimary({
      execArgv: [...process.execArgv, `--max-old-space-size=${config.workerHeapMb}`],
    });
  }
  let stopping = false;
  const restarts: number[] = [];
  const fork = (): Worker => cluster.fork();
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return;
    const now = Date.now();
    restarts.push(now);
    while (restarts.length > 0 && (restarts[0] as number) < now - 30_000) restarts.shift();
    if (restarts.length > 10 * config.workers) {
      log.fatal({ pid: worker.process.pid, code, signal }, 'workers keep dying; giving up');
      process.exit(1);
    }
    log.error({ pid: worker.process.pid, code, signal }, 'worker exited; starting a replacement');
    setTimeout(fork, 100);
  });
  for (let i = 0; i < config.workers; i++) fork();
  log.info({ port: config.port, workers: config.workers, env: config.env }, 'quint auth started');

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down: finishing requests in flight');
    const workers = Object.values(cluster.workers ?? {}).filter(
      (w): w is Worker => w !== undefined,
    );
    for (const w of workers) w.process.kill('SIGTERM');
    const deadline = setTimeout(() => {
      log.error('workers did not stop within the grace period; killing them');
      for (const w of workers) w.process.kill('SIGKILL');
      process.exit(1);
    }, config.shutdownGraceMs + 2000);
    deadline.unref();
    const check = setInterval(() => {
      if (workers.every((w) => w.isDead())) {
        clearInterval(check);
        log.info('stopped');
        process.exit(0);
      }
    }, 50);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function worker(config: Config): Promise<void> {
  const running = await startWorker(config);
  // The primary decides when to stop; a Ctrl-C reaching the whole process group is left to it.
  process.on('SIGINT', () => {});
  // SIGTERM starts the graceful close once. A worker is sent it twice when the signal goes to the
  // whole process group (systemd's default, `kill -- -PGID`): by the sender, then by the primary
  // passing it on. close-with-grace would take the second as "exit now" and drop the requests in
  // flight. What cuts a close short is the grace period (and the primary's SIGKILL after it).
  let closing = false;
  const grace = closeWithGrace(
    { delay: config.shutdownGraceMs, skip: ['SIGINT', 'SIGTERM'] },
    async ({ err }) => {
      closing = true;
      if (err)
        running.app.log.error({ err: { message: err.message, type: err.name } }, 'worker failing');
      await running.close();
    },
  );
  process.on('SIGTERM', () => {
    if (!closing) grace.close();
  });
}

const config = configOrExit();
if (cluster.isPrimary) await primary(config);
else await worker(config);
