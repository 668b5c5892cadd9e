/**
 * Which Pulumi stack a Git branch deploys to. The deploy workflow asks this module (through
 * `npm run stack-for-branch`) instead of hard-coding the mapping in YAML, so the rule lives in one
 * tested place.
 */

/** The stacks this repository deploys, in the order a change travels through them. */
export const DEPLOYED_STACKS = ['staging', 'production'] as const;

/** Exit status for "this branch deploys nowhere", distinct from a crash (1) or bad usage (2). */
export const EXIT_NO_DEPLOY = 3;

/** A stack that a branch deploys to. */
export type DeployedStack = (typeof DEPLOYED_STACKS)[number];

const STACK_BY_BRANCH: Readonly<Record<string, DeployedStack>> = Object.freeze({
  main: 'production',
  staging: 'staging',
});

/** The answer for one branch: the stack it deploys to, or why it deploys nowhere. */
export type StackForBranch =
  | { readonly deploys: true; readonly stack: DeployedStack }
  | { readonly deploys: false; readonly reason: string };

/**
 * Maps a branch name (as `github.ref_name` gives it, or a full `refs/heads/…` ref) to its stack.
 * Only exact names deploy: `main-fix` or `staging/x` are feature branches, not release branches.
 */
export function stackForBranch(branch: string): StackForBranch {
  const name = branch.trim().replace(/^refs\/heads\//, '');
  if (name === '') {
    return { deploys: false, reason: 'no branch name given' };
  }
  const stack = Object.hasOwn(STACK_BY_BRANCH, name) ? STACK_BY_BRANCH[name] : undefined;
  if (stack === undefined) {
    const known = Object.entries(STACK_BY_BRANCH)
      .map(([b, s]) => `${b} → ${s}`)
      .join(', ');
    return {
      deploys: false,
      reason: `branch "${name}" does not deploy; only ${known} do`,
    };
  }
  return { deploys: true, stack };
}
