/**
 * `npm run stack-for-branch -- <branch>`: prints the Pulumi stack the branch deploys to, or exits
 * 3 with the reason on stderr when the branch does not deploy (contract section 2).
 */
import { EXIT_NO_DEPLOY, stackForBranch } from './stack-for-branch-rules.js';

function main(argv: readonly string[]): number {
  if (argv.length !== 1 || argv[0] === undefined) {
    process.stderr.write('usage: npm run stack-for-branch -- <branch>\n');
    return 2;
  }
  const answer = stackForBranch(argv[0]);
  if (!answer.deploys) {
    process.stderr.write(`stack-for-branch: ${answer.reason}\n`);
    return EXIT_NO_DEPLOY;
  }
  process.stdout.write(`${answer.stack}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
