import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The repository's `migrations/` folder, found by walking up from this file, so that it is found
 * from the TypeScript sources and from the compiled `dist/` alike.
 */
export function migrationsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = join(dir, 'migrations');
    if (existsSync(join(candidate, '004_auth_schema.sql'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir)
      throw new Error('migrations/ folder not found above ' + fileURLToPath(import.meta.url));
    dir = parent;
  }
}
