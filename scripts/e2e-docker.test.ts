/**
 * The judgements `npm run e2e:docker` makes on what Docker reports, on recorded `docker inspect`
 * shapes, so they are checked on machines without a Docker engine too.
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapTokenFor,
  judgeHealth,
  keptTokensLine,
  publishedPorts,
  run,
  uniqueProjectName,
  type InspectedContainer,
} from './e2e-docker-support.js';

function container(
  name: string,
  service: string,
  state: {
    status?: string;
    health?: string | undefined;
    exitCode?: number;
    lastCheck?: string;
  } = {},
  ports: InspectedContainer['NetworkSettings']['Ports'] = {},
): InspectedContainer {
  const health = 'health' in state ? state.health : 'healthy';
  return {
    Id: `${name}-id`,
    Name: `/${name}`,
    Config: { User: '', Image: 'x', Labels: { 'com.docker.compose.service': service } },
    State: {
      Status: state.status ?? 'running',
      ExitCode: state.exitCode ?? 0,
      ...(health === undefined
        ? {}
        : { Health: { Status: health, Log: [{ Output: state.lastCheck ?? '', ExitCode: 1 }] } }),
    },
    HostConfig: { PortBindings: {}, RestartPolicy: { Name: 'unless-stopped' } },
    NetworkSettings: { Ports: ports, Networks: {} },
  };
}

describe('stack health', () => {
  const services = ['postgres', 'redis', 'auth'];

  it('is healthy when every expected service has a running, healthy container', () => {
    const all = [
      container('p', 'postgres'),
      container('r', 'redis'),
      container('a1', 'auth'),
      container('a2', 'auth'),
    ];
    expect(judgeHealth(all, services)).toEqual({ state: 'healthy' });
  });

  it('waits for containers still starting and for services with no container yet', () => {
    const some = [container('p', 'postgres'), container('a1', 'auth', { health: 'starting' })];
    expect(judgeHealth(some, services)).toEqual({
      state: 'starting',
      waitingFor: ['redis (no container yet)', 'a1 (running, starting)'],
    });
  });

  it('fails at once when a container exited (e.g. migrations failed), naming its exit code', () => {
    const exited = [
      container('p', 'postgres'),
      container('r', 'redis'),
      container('a1', 'auth', { status: 'exited', exitCode: 1 }),
    ];
    expect(judgeHealth(exited, services)).toEqual({
      state: 'failed',
      reason: 'a1 exited with code 1',
    });
  });

  it('fails when a container is unhealthy, with its last probe output', () => {
    const sick = [
      container('a1', 'auth', { health: 'unhealthy', lastCheck: 'unhealthy: answered HTTP 503\n' }),
    ];
    expect(judgeHealth(sick, ['auth'])).toEqual({
      state: 'failed',
      reason: 'a1 is unhealthy: unhealthy: answered HTTP 503',
    });
  });

  it('fails for a container without a health check: "running" alone proves nothing', () => {
    expect(judgeHealth([container('a1', 'auth', { health: undefined })], ['auth'])).toEqual({
      state: 'failed',
      reason: 'a1 has no health check',
    });
  });
});

describe('published ports', () => {
  it('finds none when the port is only exposed', () => {
    expect(publishedPorts(container('a', 'auth', {}, { '8001/tcp': null }))).toEqual([]);
  });

  it('lists every host binding, from the configuration and from the running state', () => {
    const c = container(
      'api',
      'api',
      {},
      { '8000/tcp': [{ HostIp: '127.0.0.1', HostPort: '8000' }] },
    );
    const bound = {
      ...c,
      HostConfig: {
        ...c.HostConfig,
        PortBindings: { '5432/tcp': [{ HostIp: '', HostPort: '15432' }] },
      },
    };
    expect(publishedPorts(bound)).toEqual(['0.0.0.0:15432->5432/tcp', '127.0.0.1:8000->8000/tcp']);
  });
});

describe('reading what the scripts in the image print', () => {
  it('takes the kept tokens from the smoke test output', () => {
    const out =
      'ok   health: fine [1 ms]\nkept-tokens: {"active":"a","revoked":"r"}\nsmoke: 8 steps passed\n';
    expect(keptTokensLine(out)).toBe('{"active":"a","revoked":"r"}');
    expect(keptTokensLine('ok   health\n')).toBeUndefined();
  });

  it("takes the customer's app token from bootstrap's JSON lines and ignores other customers", () => {
    const out = [
      '{"customer_id":"c-1","app_token":"qa_one","expires_at":"2027-01-01T00:00:00Z"}',
      'not json',
      '{"customer_id":"c-2","app_token":"qa_two","expires_at":"2027-01-01T00:00:00Z"}',
      '',
    ].join('\n');
    expect(bootstrapTokenFor(out, 'c-2')).toBe('qa_two');
    expect(bootstrapTokenFor(out, 'c-3')).toBeUndefined();
  });

  it('names each run’s Compose project uniquely, in characters every Compose version accepts', () => {
    const a = uniqueProjectName(0);
    const b = uniqueProjectName(0);
    expect(a).toMatch(/^quinte2e[a-z0-9]+$/);
    expect(a).not.toBe(b);
  });
});

describe('running a command', () => {
  it('survives a command that exits without reading its input (a broken pipe), with its exit code', async () => {
    // 4 MiB is far more than a pipe holds: the write is still going when `sh` has exited.
    const ran = await run('sh', ['-c', 'exit 3'], { input: 'x'.repeat(4 << 20) });
    expect(ran.code).toBe(3);
  });

  it('hands the input to a command that reads it', async () => {
    const ran = await run('wc', ['-c'], { input: 'x'.repeat(100_000) });
    expect(ran).toMatchObject({ code: 0, stdout: '100000\n' });
  });
});
