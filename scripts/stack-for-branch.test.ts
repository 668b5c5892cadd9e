import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_NO_DEPLOY, stackForBranch } from './stack-for-branch-rules.js';

const script = fileURLToPath(new URL('./stack-for-branch.ts', import.meta.url));

function run(...args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', script, ...args], { encoding: 'utf8' });
}

describe('stackForBranch', () => {
  it('deploys main to production and staging to staging', () => {
    expect(stackForBranch('main')).toEqual({ deploys: true, stack: 'production' });
    expect(stackForBranch('staging')).toEqual({ deploys: true, stack: 'staging' });
  });

  it('accepts the full ref GitHub gives in github.ref', () => {
    expect(stackForBranch('refs/heads/main')).toEqual({ deploys: true, stack: 'production' });
  });

  it.each(['feature/login', 'main-hotfix', 'staging/next', 'Main', 'production', ''])(
    'does not deploy %j',
    (branch) => {
      const answer = stackForBranch(branch);
      expect(answer.deploys).toBe(false);
    },
  );

  it('says which branches do deploy when refusing one', () => {
    const answer = stackForBranch('feature/login');
    expect(answer).toEqual({
      deploys: false,
      reason:
        'branch "feature/login" does not deploy; only main → production, staging → staging do',
    });
  });

  it('is not fooled by names inherited from Object.prototype', () => {
    expect(stackForBranch('constructor').deploys).toBe(false);
    expect(stackForBranch('__proto__').deploys).toBe(false);
  });
});

describe('npm run stack-for-branch', () => {
  it('prints only the stack name on stdout and exits 0', () => {
    const result = run('main');
    expect(result.status).toBe(0);
    expect(result.stdout).toBe('production\n');
    expect(result.stderr).toBe('');
  });

  it(`exits ${EXIT_NO_DEPLOY} with the reason on stderr for a branch that does not deploy`, () => {
    const result = run('feature/login');
    expect(result.status).toBe(EXIT_NO_DEPLOY);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('branch "feature/login" does not deploy');
  });

  it('exits 2 with usage when no branch is given', () => {
    const result = run();
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('usage: npm run stack-for-branch -- <branch>');
  });
});
