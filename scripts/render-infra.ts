/**
 * `npm run infra:render`: evaluates the Pulumi program for every stack offline (Pulumi's mocks,
 * no credentials, no Docker) and writes `infra/rendered/<stack>.yaml`, so a pull request shows
 * its infrastructure change as an ordinary diff.
 *
 *   npm run infra:render                 write every stack's rendering
 *   npm run infra:render -- --check      exit 1 if a committed rendering is stale
 *   npm run infra:render -- --stack X    print one stack's rendering on stdout
 */
import { writeFile } from 'node:fs/promises';
import { relative } from 'node:path';
import { renderStack } from '../infra/testing/render.js';
import {
  renderAllStacks,
  renderedFilePath,
  staleRenderings,
} from '../infra/testing/rendered-files.js';

async function main(argv: readonly string[]): Promise<number> {
  const stackFlag = argv.indexOf('--stack');
  if (stackFlag >= 0) {
    const stack = argv[stackFlag + 1];
    if (stack === undefined) {
      process.stderr.write('usage: npm run infra:render -- --stack <stack>\n');
      return 2;
    }
    // One stack per process: importing the program runs it.
    process.stdout.write(await renderStack(stack, () => import('../infra/index.js')));
    return 0;
  }

  const fresh = await renderAllStacks();
  if (argv.includes('--check')) {
    const stale = await staleRenderings(fresh);
    for (const stack of stale) {
      process.stderr.write(
        `infra:render: ${relative(process.cwd(), renderedFilePath(stack))} is stale; run \`npm run infra:render\` and commit the result\n`,
      );
    }
    return stale.length === 0 ? 0 : 1;
  }
  for (const [stack, text] of fresh) {
    const path = renderedFilePath(stack);
    await writeFile(path, text);
    process.stdout.write(`${relative(process.cwd(), path)}\n`);
  }
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `infra:render: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
