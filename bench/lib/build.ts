/**
 * Compiles the service and the benchmark's own processes to plain JavaScript once per run, so
 * that every measured process runs as `npm start` runs the service (node on compiled files, no
 * TypeScript loader). The output goes to node_modules/.cache, never to the shared dist/.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Build {
  /** Folder mirroring the repository: `<out>/service/src/server.js`, `<out>/bench/load.js`. */
  out: string;
}

/**
 * Compiles `source` (default: the repository at `root`) into
 * `<root>/node_modules/.cache/<name>/out`, with `root`'s TypeScript and packages. `source` is
 * another checkout of the repository when comparing revisions (bench/paired.ts); it must lie
 * inside `<root>/node_modules` so that its compiled files find the same packages.
 */
export function build(root: string, source = root, name = 'quint-bench'): Build {
  const dir = join(root, 'node_modules', '.cache', name);
  const out = join(dir, 'out');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  // Module scope stops at node_modules/, so the output needs its own "type": "module".
  writeFileSync(join(out, 'package.json'), JSON.stringify({ type: 'module' }) + '\n');
  const tsconfig = join(dir, 'tsconfig.json');
  writeFileSync(
    tsconfig,
    JSON.stringify({
      extends: join(source, 'tsconfig.json'),
      compilerOptions: { noEmit: false, outDir: out, rootDir: source, sourceMap: false },
      include: [join(source, 'service', 'src'), join(source, 'bench')],
      exclude: [join(source, '**', '*.test.ts'), join(source, 'node_modules')],
    }),
  );
  execFileSync(join(root, 'node_modules', '.bin', 'tsc'), ['-p', tsconfig], {
    cwd: root,
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return { out };
}
