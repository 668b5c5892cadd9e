/**
 * The GitHub Actions workflows: valid against GitHub's own workflow schema and parser
 * (@actions/workflow-parser), and shaped the way the deployment relies on.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../testing/stack-files.js';

const WORKFLOWS = `${REPO_ROOT}.github/workflows/`;

/** Errors GitHub would report for each file, schema and semantics both, by file name. */
function workflowErrors(files: { name: string; content: string }[]): Record<string, string[]> {
  const output = execFileSync(
    process.execPath,
    ['--import', 'tsx', `${REPO_ROOT}infra/testing/check-workflows.ts`],
    { input: JSON.stringify(files), encoding: 'utf8' },
  );
  return JSON.parse(output) as Record<string, string[]>;
}

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  environment?: string;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  jobs: Record<string, Job>;
}

function workflow(file: string): Workflow {
  return parse(readFileSync(`${WORKFLOWS}${file}`, 'utf8')) as Workflow;
}

function job(file: string, id: string): Job {
  const found = workflow(file).jobs[id];
  if (found === undefined) throw new Error(`${file} has no job ${id}`);
  return found;
}

function step(from: Job, uses: string, command?: string): Step {
  const found = from.steps.find(
    (s) => s.uses === uses && (command === undefined || s.with?.['command'] === command),
  );
  if (found === undefined) throw new Error(`no step uses ${uses} ${command ?? ''}`);
  return found;
}

describe('against the GitHub Actions schema', () => {
  const files = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));

  it('covers the deploy and preview workflows', () => {
    expect(files.sort()).toEqual(['deploy.yml', 'preview.yml']);
  });

  it('finds no error in any of them, and would find them in a broken one', () => {
    const broken = [
      'on: push',
      'jobs:',
      '  deploy:',
      '    needs: missing-job',
      '    runs-on: ubuntu-24.04',
      '    concurrency: { grup: x }',
      '    steps:',
      '      - run: echo',
    ].join('\n');
    const errors = workflowErrors([
      ...files.map((name) => ({ name, content: readFileSync(`${WORKFLOWS}${name}`, 'utf8') })),
      { name: 'broken.yml', content: broken },
    ]);
    expect(errors).toEqual({
      'deploy.yml': [],
      'preview.yml': [],
      'broken.yml': expect.arrayContaining([expect.any(String)]),
    });
  });
});

describe('deploy.yml', () => {
  it('runs on pushes to the two deploying branches', () => {
    expect(workflow('deploy.yml').on['push']).toEqual({ branches: ['main', 'staging'] });
  });

  it('runs test → deploy → smoke-test', () => {
    expect(Object.keys(workflow('deploy.yml').jobs)).toEqual(['test', 'deploy', 'smoke-test']);
    expect(job('deploy.yml', 'deploy').needs).toBe('test');
    expect(job('deploy.yml', 'smoke-test').needs).toEqual(['test', 'deploy']);
  });

  it('runs the whole test suite before choosing the stack with npm run stack-for-branch', () => {
    const test = job('deploy.yml', 'test');
    const runs = test.steps.map((s) => s.run ?? '');
    expect(runs.indexOf('npm test')).toBeGreaterThanOrEqual(0);
    const choose = test.steps.find((s) => s.run?.includes('stack-for-branch'));
    expect(choose?.run).toContain('npm run --silent stack-for-branch -- "$GITHUB_REF_NAME"');
    expect(runs.indexOf('npm test')).toBeLessThan(test.steps.indexOf(choose as Step));
    expect(test.outputs?.['stack']).toBe('${{ steps.stack.outputs.stack }}');
  });

  it('deploys with pulumi/actions to that stack, one update per stack at a time', () => {
    const deploy = job('deploy.yml', 'deploy');
    expect(deploy.concurrency).toEqual({
      group: 'pulumi-${{ needs.test.outputs.stack }}',
      'cancel-in-progress': false,
    });
    expect(deploy.environment).toBe('${{ needs.test.outputs.stack }}');
    expect(step(deploy, 'pulumi/actions@v6', 'up').with).toMatchObject({
      'stack-name': '${{ needs.test.outputs.stack }}',
      policyPacks: 'infra/policy',
    });
  });

  it('takes every secret from GitHub secrets, never from the repository', () => {
    const text = readFileSync(`${WORKFLOWS}deploy.yml`, 'utf8');
    expect(text).not.toMatch(/AUTH_MASTER_KEY:\s*[A-Za-z0-9+/=]{20,}/);
    const prepare = step(job('deploy.yml', 'deploy'), './.github/actions/pulumi-stack');
    expect(prepare.with).toMatchObject({
      'auth-master-key': '${{ secrets.AUTH_MASTER_KEY }}',
      'ssh-key': '${{ secrets.DEPLOY_SSH_KEY }}',
    });
  });

  it('smoke-tests auth over the Docker host on the private network, publishing nothing', () => {
    const smoke = job('deploy.yml', 'smoke-test');
    const script = smoke.steps.map((s) => s.run ?? '').join('\n');
    expect(script).toMatch(/docker run --rm --network "\$PRIVATE_NETWORK"/);
    expect(script).toContain('"$AUTH_IMAGE" node /app/dist/scripts/smoke.js http://auth:8001');
    expect(script).not.toMatch(/(^|\s)(-p|--publish|-P|--publish-all)(\s|=)/);
    expect(smoke.env).toMatchObject({
      DOCKER_HOST: '${{ needs.deploy.outputs.docker-host }}',
      PRIVATE_NETWORK: '${{ needs.deploy.outputs.private-network }}',
      AUTH_IMAGE: '${{ needs.deploy.outputs.auth-image }}',
    });
  });

  it("passes on the stack outputs the smoke test needs, by the program's output names", () => {
    expect(job('deploy.yml', 'deploy').outputs).toEqual({
      'docker-host': '${{ steps.up.outputs.dockerHost }}',
      'private-network': '${{ steps.up.outputs.privateNetwork }}',
      'auth-image': '${{ steps.up.outputs.authImage }}',
    });
  });
});

describe('preview.yml', () => {
  it('previews the stack of the target branch on every pull request into it', () => {
    expect(workflow('preview.yml').on['pull_request']).toEqual({ branches: ['main', 'staging'] });
    const choose = job('preview.yml', 'stack').steps.find((s) =>
      s.run?.includes('stack-for-branch'),
    );
    expect(choose?.run).toContain('"$GITHUB_BASE_REF"');
  });

  it('comments the preview diff on the pull request, with the policies applied', () => {
    const preview = job('preview.yml', 'preview');
    expect(step(preview, 'pulumi/actions@v6', 'preview').with).toMatchObject({
      'stack-name': '${{ needs.stack.outputs.stack }}',
      'comment-on-pr': true,
      policyPacks: 'infra/policy',
    });
    expect(workflow('preview.yml').permissions).toMatchObject({ 'pull-requests': 'write' });
  });

  it('checks that the committed infra renderings are current', () => {
    const runs = job('preview.yml', 'stack').steps.map((s) => s.run);
    expect(runs).toContain('npm run infra:render -- --check');
  });
});

describe('the shared pulumi-stack action', () => {
  const action = parse(
    readFileSync(`${REPO_ROOT}.github/actions/pulumi-stack/action.yml`, 'utf8'),
  ) as { inputs: Record<string, unknown>; runs: { using: string; steps: Step[] } };

  it('is a composite action that uses every input it declares', () => {
    expect(action.runs.using).toBe('composite');
    const body = JSON.stringify(action.runs.steps);
    for (const input of Object.keys(action.inputs)) {
      expect(body, input).toContain(`inputs.${input}`);
    }
  });

  it('sets secret configuration through stdin, never on the command line', () => {
    const script = action.runs.steps.map((s) => s.run ?? '').join('\n');
    expect(script).toContain(`printf '%s' "$2" | pulumi config set --secret --stack "$STACK" "$1"`);
  });
});

describe('infra/README.md', () => {
  const readme = readFileSync(`${REPO_ROOT}infra/README.md`, 'utf8');

  it('documents every secret and variable the workflows use', () => {
    const text = ['deploy.yml', 'preview.yml']
      .map((f) => readFileSync(`${WORKFLOWS}${f}`, 'utf8'))
      .join('\n');
    const names = new Set([...text.matchAll(/\b(?:secrets|vars)\.([A-Z_]+)/g)].map((m) => m[1]));
    expect(names.size).toBeGreaterThan(0);
    for (const name of names) expect(readme, `${name} is not documented`).toContain(`\`${name}\``);
  });
});
