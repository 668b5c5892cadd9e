/**
 * What every script shares: results on stdout, progress and diagnostics on stderr, and a
 * non-zero exit with a one-line reason on failure.
 */
import { ConfigError, normalizeDatabaseUrl } from '../service/src/config.js';

export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}

/** Runs `main`, turning any error into one line on stderr and exit code 1. */
export function run(main: () => Promise<number | void>): void {
  main().then(
    (code) => {
      process.exitCode = code ?? 0;
    },
    (error: unknown) => {
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(`error: ${message}\n`);
      process.exitCode = 1;
    },
  );
}

/** AUTH_DATABASE_URL, validated, or a ConfigError naming it. */
export function databaseUrlFromEnv(): string {
  const raw = process.env.AUTH_DATABASE_URL;
  if (!raw || raw.trim() === '') {
    throw new ConfigError(
      'AUTH_DATABASE_URL',
      'is required (a Postgres URL such as postgres://quint:secret@localhost:5432/quint)',
    );
  }
  return normalizeDatabaseUrl(raw.trim());
}
