/**
 * The guardrail policies, run without the Pulumi CLI against the resources the program declares
 * for each stack, against single changes that break one rule, and against a deliberately broken
 * stack that every policy must catch.
 */
import type { PolicyResource } from '@pulumi/policy';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { policies } from '../policy/policies.js';
import { evaluateProgram, type Evaluation } from '../testing/evaluate.js';
import { policyResources, violations, type Violation } from './policy-harness.js';
import { evaluate, stackConfig } from './stacks.js';

const POLICY_NAMES = policies.map((p) => p.name);

describe.each(['staging', 'production'] as const)('the %s stack', (stack) => {
  it('passes every policy', async () => {
    const program = await evaluate(stack, stackConfig(stack));
    expect(await violations(policyResources(program))).toEqual([]);
  });
});

it('passes every policy with managed Postgres and Redis', async () => {
  const program = await evaluate('production', {
    ...stackConfig('production'),
    'quint:postgres': 'external',
    'quint:postgresUrl': 'postgres://auth:s3cret-pw@db.managed.example:5432/quint',
    'quint:redis': 'external',
    'quint:redisUrl': 'rediss://:r3dis-pw@cache.managed.example:6380/0',
  });
  expect(await violations(policyResources(program))).toEqual([]);
});

describe('one change to the production stack breaks one policy', () => {
  let production: Evaluation;
  beforeAll(async () => {
    production = await evaluate('production', stackConfig('production'));
  });

  /** The production stack's resources with one of them changed. */
  function changed(name: string, change: (resource: PolicyResource) => void): PolicyResource[] {
    const resources = structuredClone(
      policyResources(production).map(({ isType: _i, asType: _a, ...rest }) => rest),
    ) as PolicyResource[];
    const target = resources.find((r) => r.name === name);
    if (target === undefined) throw new Error(`no resource ${name}`);
    change(target);
    return resources;
  }

  async function brokenPolicies(resources: PolicyResource[]): Promise<string[]> {
    return [...new Set((await violations(resources)).map((v) => v.policy))];
  }

  it('publishing the auth port', async () => {
    const resources = changed('auth-container', (r) => {
      r.props['ports'] = [{ internal: 8001, external: 8001 }];
    });
    expect(await brokenPolicies(resources)).toEqual(['only-api-publishes-ports']);
  });

  it('publishing a second API port', async () => {
    const resources = changed('api-container', (r) => {
      (r.props['ports'] as unknown[]).push({ internal: 9229, external: 9229 });
    });
    expect(await brokenPolicies(resources)).toEqual(['only-api-publishes-ports']);
  });

  it('attaching Redis to the public network', async () => {
    const resources = changed('redis-container', (r) => {
      (r.props['networksAdvanced'] as unknown[]).push({ name: 'quint-production-public' });
    });
    expect(await brokenPolicies(resources)).toEqual(['private-services-stay-private']);
  });

  it('making the private network routable', async () => {
    const resources = changed('network-private', (r) => {
      r.props['internal'] = false;
    });
    expect(await violations(resources)).toEqual(
      expect.arrayContaining(
        ['postgres', 'redis', 'auth', 'orchestrator'].map((service) =>
          expect.objectContaining({
            policy: 'private-services-stay-private',
            resource: `${service}-container`,
          }),
        ),
      ),
    );
  });

  it('dropping the secret marking of the auth environment', async () => {
    const resources = changed('auth-container', (r) => {
      r.opts.additionalSecretOutputs = [];
    });
    const found = await violations(resources);
    expect(found).toEqual([
      {
        policy: 'no-plaintext-secrets',
        resource: 'auth-container',
        message: expect.stringContaining(
          'has secrets in its environment (AUTH_DATABASE_URL, AUTH_MASTER_KEY, AUTH_ADMIN_TOKEN)',
        ),
      },
    ]);
  });

  it('putting the database password in a label', async () => {
    const password = (
      policyResources(production).find((r) => r.name === 'postgres-container')?.props[
        'envs'
      ] as string[]
    )
      .find((e) => e.startsWith('POSTGRES_PASSWORD='))
      ?.split('=')[1];
    const resources = changed('api-container', (r) => {
      (r.props['labels'] as unknown[]).push({ label: 'debug', value: `pw ${password}` });
    });
    expect(await brokenPolicies(resources)).toEqual(['no-plaintext-secrets']);
  });

  it('running the orchestrator as root', async () => {
    const resources = changed('orchestrator-container', (r) => {
      r.props['user'] = '0:0';
    });
    expect(await brokenPolicies(resources)).toEqual(['containers-are-supervised']);
  });

  it('removing the API health check', async () => {
    const resources = changed('api-container', (r) => {
      delete r.props['healthcheck'];
    });
    expect(await brokenPolicies(resources)).toEqual(['containers-are-supervised']);
  });

  it('unprotecting the Postgres volume', async () => {
    const resources = changed('postgres-data', (r) => {
      r.opts.protect = false;
    });
    expect(await violations(resources)).toEqual([
      {
        policy: 'data-is-protected',
        resource: 'postgres-data',
        message: 'volume postgres-data holds production data and must be protected',
      },
    ]);
  });
});

describe('the deliberately broken stack', () => {
  let found: Violation[];
  beforeAll(async () => {
    vi.resetModules();
    const broken = await evaluateProgram({
      stack: 'production',
      config: {},
      load: () => import('./fixtures/broken-stack.js'),
    });
    found = await violations(policyResources(broken));
  });

  const caught = (policy: string) => found.filter((v) => v.policy === policy);

  it('is caught by every policy', () => {
    expect([...new Set(found.map((v) => v.policy))]).toEqual(POLICY_NAMES);
  });

  it('only-api-publishes-ports: the published auth port and the host-network Postgres', () => {
    expect(caught('only-api-publishes-ports').map((v) => v.resource)).toEqual([
      'broken-auth',
      'broken-postgres',
    ]);
  });

  it('private-services-stay-private: auth on the public network, Postgres on the host network', () => {
    expect(caught('private-services-stay-private')).toEqual([
      expect.objectContaining({
        resource: 'broken-auth',
        message: expect.stringContaining('not broken-public'),
      }),
      expect.objectContaining({
        resource: 'broken-postgres',
        message: expect.stringContaining('network mode "host"'),
      }),
    ]);
  });

  it('no-plaintext-secrets: plain env secret, dev key, password in a command and an output', () => {
    expect(caught('no-plaintext-secrets').map((v) => `${v.resource}: ${v.message}`)).toEqual([
      expect.stringMatching(/^broken-auth: .*secrets in its environment \(AUTH_MASTER_KEY\)/),
      expect.stringMatching(/^quint-production: stack output databaseUrl contains a secret/),
      expect.stringMatching(/^broken-auth: .*development secret "local-dev-master-key/),
      expect.stringMatching(/^broken-worker: broken-worker.command contains a secret/),
    ]);
  });

  it('containers-are-supervised: missing health check, restart policy and user; root; NONE', () => {
    expect(caught('containers-are-supervised').map((v) => `${v.resource}: ${v.message}`)).toEqual([
      expect.stringMatching(/^broken-auth: .*has no health check/),
      expect.stringMatching(/^broken-auth: .*restart policy "no"/),
      expect.stringMatching(/^broken-auth: .*runs as the image's default user/),
      expect.stringMatching(/^broken-postgres: .*runs as "root"/),
      expect.stringMatching(/^broken-worker: .*has no health check/),
    ]);
  });

  it('data-is-protected: the unprotected volume and master key', () => {
    expect(caught('data-is-protected').map((v) => v.resource)).toEqual([
      'broken-data',
      'broken-master-key',
    ]);
  });
});
