/**
 * `npm run e2e:docker`: the local stack on a real Docker engine, end to end.
 *
 *  1. builds the auth image from docker/Dockerfile.auth (the base images must be present:
 *     `docker pull` them, or make them with scripts/build-base-images.sh without a registry);
 *  2. starts docker-compose.yml's postgres, redis and two auth replicas at once (both migrate the
 *     same empty database) under a project name of its own, and waits until all are healthy;
 *  3. checks the containers: auth runs as 10001:10001 under an init process, nothing publishes a
 *     port, and neither auth nor Postgres answers on the host's loopback;
 *  4. runs the smoke test from inside the stack's private network, twice: with an app token made by
 *     the admin endpoint, and with one from `bootstrap_auth`, keeping a live and a revoked token;
 *  5. restarts auth and checks the live token still verifies and the revoked one stays revoked;
 *  6. tears the project down (containers, networks, volumes, its image tag) and checks nothing is
 *     left. On any failure it prints the containers' logs first.
 *
 * Results on stdout, progress and Docker's own output on stderr; exit 0 only if every check passed.
 * Options: --keep (leave the stack running for a look; prints how to remove it).
 */
import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  E2eError,
  bootstrapTokenFor,
  findCompose,
  judgeHealth,
  keptTokensLine,
  must,
  publishedPorts,
  run,
  serviceOf,
  uniqueProjectName,
  type ComposeCli,
  type InspectedContainer,
} from './e2e-docker-support.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BASE_IMAGES = ['node:26-trixie-slim', 'postgres:17-trixie', 'redis:8-trixie'];
const AUTH_REPLICAS = 2;
const HEALTH_TIMEOUT_MS = 240_000;
const AUTH_URL = 'http://auth:8001';

const results: string[] = [];
const timings: [string, number][] = [];

function progress(line: string): void {
  process.stderr.write(`e2e: ${line}\n`);
}

function pass(line: string): void {
  results.push(line);
  process.stdout.write(`ok   ${line}\n`);
}

async function timed<T>(phase: string, body: () => Promise<T>): Promise<T> {
  const started = performance.now();
  progress(`${phase} …`);
  try {
    return await body();
  } finally {
    timings.push([phase, (performance.now() - started) / 1000]);
  }
}

/** Site CAs for npm inside the build, behind a TLS-inspecting proxy (see docker/README.md). */
function buildCaCerts(): string {
  const explicit = process.env.QUINT_BUILD_EXTRA_CA_CERTS;
  if (explicit !== undefined) return explicit;
  // Debian's place for a site's own CAs: what this machine's tools trust, the build trusts too.
  const dir = '/usr/local/share/ca-certificates';
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => f.endsWith('.crt'));
  } catch {
    return '';
  }
  if (files.length > 0) {
    progress(
      `npm in the build trusts this machine's local CAs too: ${files.map((f) => join(dir, f)).join(', ')}`,
    );
  }
  return files.map((f) => readFileSync(join(dir, f), 'utf8').trim()).join('\n');
}

class Stack {
  readonly project = uniqueProjectName();
  readonly adminToken = randomBytes(24).toString('hex');
  readonly authTag = `e2e-${this.project}`;
  readonly #caCerts = buildCaCerts();

  constructor(readonly compose: ComposeCli) {}

  get authImage(): string {
    return `quint-auth:${this.authTag}`;
  }

  env(): Record<string, string> {
    return {
      AUTH_ADMIN_TOKEN: this.adminToken,
      QUINT_AUTH_TAG: this.authTag,
      QUINT_BUILD_EXTRA_CA_CERTS: this.#caCerts,
    };
  }

  /** `docker compose -p <project> -f docker-compose.yml <args>`; the override file is never read. */
  composeArgs(args: readonly string[]): string[] {
    return [
      ...this.compose.prefix,
      '--project-name',
      this.project,
      '--project-directory',
      root,
      '--file',
      join(root, 'docker-compose.yml'),
      ...args,
    ];
  }

  composeMust(
    args: readonly string[],
    what: string,
    options: { stream?: boolean; timeoutMs?: number } = {},
  ): Promise<string> {
    return must(this.compose.command, this.composeArgs(args), what, {
      env: this.env(),
      ...options,
    });
  }

  async containers(): Promise<InspectedContainer[]> {
    const ids = (
      await must(
        'docker',
        ['ps', '-aq', '--filter', `label=com.docker.compose.project=${this.project}`],
        'listing containers',
      )
    )
      .split('\n')
      .filter((s) => s !== '');
    if (ids.length === 0) return [];
    return JSON.parse(
      await must('docker', ['inspect', ...ids], 'inspecting containers'),
    ) as InspectedContainer[];
  }

  async privateNetwork(): Promise<string> {
    const names = (
      await must(
        'docker',
        [
          'network',
          'ls',
          '--format',
          '{{.Name}}',
          '--filter',
          `label=com.docker.compose.project=${this.project}`,
        ],
        'listing networks',
      )
    )
      .split('\n')
      .filter((n) => n.endsWith('_private'));
    if (names.length !== 1)
      throw new E2eError(
        `expected one private network for ${this.project}, found ${names.join(', ') || 'none'}`,
      );
    return names[0] as string;
  }

  async waitHealthy(services: readonly string[]): Promise<InspectedContainer[]> {
    const deadline = Date.now() + HEALTH_TIMEOUT_MS;
    let last = '';
    for (;;) {
      const containers = (await this.containers()).filter((c) => services.includes(serviceOf(c)));
      const verdict = judgeHealth(containers, services);
      if (verdict.state === 'healthy') return containers;
      if (verdict.state === 'failed') throw new E2eError(verdict.reason);
      const now = verdict.waitingFor.join(', ');
      if (now !== last) progress(`waiting for ${now}`);
      last = now;
      if (Date.now() > deadline)
        throw new E2eError(`not healthy within ${HEALTH_TIMEOUT_MS / 1000} s: ${now}`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
  }

  /** Runs the auth image on the private network, as the smoke test would run in the pipeline. */
  async inNetwork(
    args: readonly string[],
    env: Record<string, string>,
    what: string,
  ): Promise<string> {
    const network = await this.privateNetwork();
    const envFlags = Object.keys(env).flatMap((k) => ['--env', k]);
    return must(
      'docker',
      ['run', '--rm', '--network', network, ...envFlags, this.authImage, ...args],
      what,
      { env },
    );
  }

  async logs(): Promise<string> {
    const ran = await run(
      this.compose.command,
      this.composeArgs(['logs', '--no-color', '--timestamps']),
      { env: this.env() },
    );
    return `${ran.stdout}${ran.stderr}`;
  }

  async down(): Promise<void> {
    await run(
      this.compose.command,
      this.composeArgs([
        '--profile',
        'dev',
        'down',
        '--volumes',
        '--remove-orphans',
        '--timeout',
        '20',
      ]),
      {
        env: this.env(),
        stream: true,
      },
    );
    await run('docker', ['image', 'rm', this.authImage]);
  }

  /** What is left of the project after `down`: should be nothing. */
  async leftovers(): Promise<string[]> {
    const filter = `label=com.docker.compose.project=${this.project}`;
    const left: string[] = [];
    for (const [kind, args] of [
      ['container', ['ps', '-aq', '--filter', filter]],
      ['network', ['network', 'ls', '-q', '--filter', filter]],
      ['volume', ['volume', 'ls', '-q', '--filter', filter]],
      ['image', ['image', 'ls', '-q', this.authImage]],
    ] as const) {
      const out = (await must('docker', args, `listing ${kind}s`))
        .split('\n')
        .filter((s) => s !== '');
      left.push(...out.map((id) => `${kind} ${id}`));
    }
    return left;
  }
}

/** True if something accepts a TCP connection on the host's loopback at `port`. */
function loopbackAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A Node process running the server: the primary or a cluster worker (whatever its flags). */
function isServerProcess(argv: readonly string[]): boolean {
  return (
    /(^|\/)node$/.test(argv[0] ?? '') &&
    argv.slice(1).some((arg) => /(^|\/)dist\/service\/src\/server\.js$/.test(arg))
  );
}

async function checkContainers(
  stack: Stack,
  containers: readonly InspectedContainer[],
): Promise<void> {
  const auth = containers.filter((c) => serviceOf(c) === 'auth');
  if (auth.length !== AUTH_REPLICAS)
    throw new E2eError(`expected ${AUTH_REPLICAS} auth containers, found ${auth.length}`);
  pass(`${AUTH_REPLICAS} auth replicas started at once against one empty database, both healthy`);

  for (const c of auth) {
    const name = c.Name.replace(/^\//, '');
    const uid = (await must('docker', ['exec', c.Id, 'id', '-u'], 'reading the user')).trim();
    const gid = (await must('docker', ['exec', c.Id, 'id', '-g'], 'reading the group')).trim();
    if (uid !== '10001' || gid !== '10001')
      throw new E2eError(`${name} runs as ${uid}:${gid}, not 10001:10001`);
    const pid1 =
      (await must('docker', ['exec', c.Id, 'cat', '/proc/1/cmdline'], 'reading PID 1')).split(
        '\0',
      )[0] ?? '';
    if (!/(tini|docker-init)$/.test(pid1))
      throw new E2eError(`${name}: PID 1 is ${pid1}, not an init process`);
    const tree = await must(
      'docker',
      ['exec', c.Id, 'sh', '-c', 'for p in /proc/[0-9]*; do cat $p/cmdline; echo; done'],
      'listing processes',
    );
    const servers = tree.split('\n').filter((line) => isServerProcess(line.split('\0'))).length;
    if (servers !== 3)
      throw new E2eError(
        `${name}: ${servers} server processes, expected the primary and AUTH_WORKERS=2 workers`,
      );
    pass(
      `${name}: user 10001:10001, PID 1 ${pid1}, primary + 2 workers, restart policy ${c.HostConfig.RestartPolicy?.Name ?? '?'}`,
    );
  }

  for (const c of containers) {
    const ports = publishedPorts(c);
    if (ports.length > 0)
      throw new E2eError(
        `${c.Name.replace(/^\//, '')} (${serviceOf(c)}) publishes ${ports.join(', ')} on the host`,
      );
  }
  pass('no container publishes a port on the host');
  for (const [service, port] of [
    ['auth', 8001],
    ['postgres', 5432],
    ['redis', 6379],
  ] as const) {
    if (await loopbackAnswers(port)) {
      throw new E2eError(
        `something answers on the host at 127.0.0.1:${port} (${service}'s port); the stack publishes nothing, so stop whatever listens there and run again`,
      );
    }
  }
  pass('auth (8001), Postgres (5432) and Redis (6379) do not answer on the host at 127.0.0.1');
  const network = await stack.privateNetwork();
  const internal = (
    await must(
      'docker',
      ['network', 'inspect', '--format', '{{.Internal}}', network],
      'inspecting the network',
    )
  ).trim();
  if (internal !== 'true') throw new E2eError(`${network} is not an internal network`);
  pass(`${network} is internal (no route out; members are reached only from containers on it)`);
}

async function smokeTests(stack: Stack): Promise<string> {
  const customer = (
    await stack.composeMust(
      [
        'exec',
        '-T',
        'postgres',
        'psql',
        '-U',
        'quint',
        '-d',
        'quint',
        '-v',
        'ON_ERROR_STOP=1',
        '-tAq',
        '-c',
        "INSERT INTO public.customers (name) VALUES ('e2e smoke') RETURNING id",
      ],
      'creating a customer',
    )
  ).trim();
  if (!/^[0-9a-f-]{36}$/.test(customer))
    throw new E2eError(`creating a customer printed "${customer}", not an id`);

  const viaAdmin = await stack.inNetwork(
    ['node', 'dist/scripts/smoke.js', AUTH_URL, '--customer', customer, '--wait', '30'],
    { SMOKE_ADMIN_TOKEN: stack.adminToken },
    'the smoke test (admin endpoint)',
  );
  process.stdout.write(viaAdmin);
  pass('smoke test from inside the private network, app token made with AUTH_ADMIN_TOKEN');

  const bootstrap = await stack.composeMust(
    ['exec', '-T', '--index', '1', 'auth', 'node', 'dist/scripts/bootstrap_auth.js'],
    'bootstrap_auth',
  );
  const appToken = bootstrapTokenFor(bootstrap, customer);
  if (appToken === undefined)
    throw new E2eError(`bootstrap_auth printed no app token for customer ${customer}`);
  pass('bootstrap_auth in the image made an app token for the customer');

  const withKept = await stack.inNetwork(
    ['node', 'dist/scripts/smoke.js', AUTH_URL, '--keep-tokens'],
    { SMOKE_APP_TOKEN: appToken },
    'the smoke test (bootstrap token)',
  );
  process.stdout.write(
    withKept
      .split('\n')
      .filter((l) => !l.startsWith('kept-tokens: '))
      .join('\n'),
  );
  const kept = keptTokensLine(withKept);
  if (kept === undefined) throw new E2eError('the smoke test printed no kept tokens');
  pass('smoke test with the bootstrap app token; one session token kept live, one revoked');
  return kept;
}

async function restartCheck(stack: Stack, kept: string): Promise<void> {
  const started = performance.now();
  await stack.composeMust(['restart', 'auth'], 'restarting auth', { stream: true });
  const restartedIn = ((performance.now() - started) / 1000).toFixed(1);
  await stack.waitHealthy(['auth']);
  pass(
    `auth restarted (stop + start took ${restartedIn} s: SIGTERM reached Node) and is healthy again`,
  );
  const check = await stack.inNetwork(
    ['node', 'dist/scripts/smoke.js', AUTH_URL, '--check-tokens', '--wait', '30'],
    { SMOKE_KEPT_TOKENS: kept },
    'checking tokens after the restart',
  );
  process.stdout.write(check);
  pass(
    'after the restart the token minted before still verifies and the revoked one stays revoked',
  );
}

async function main(): Promise<number> {
  const keep = process.argv.includes('--keep');
  await must(
    'docker',
    ['info', '--format', '{{.ServerVersion}}'],
    'asking the Docker engine (is dockerd running?)',
  );
  const compose = await findCompose();
  const missing: string[] = [];
  for (const image of BASE_IMAGES) {
    if ((await run('docker', ['image', 'inspect', image])).code !== 0) missing.push(image);
  }
  if (missing.length > 0) {
    throw new E2eError(
      `base images missing: ${missing.join(', ')}. Pull them (docker pull …) or, without registry access, build them: sudo scripts/build-base-images.sh`,
    );
  }
  const stack = new Stack(compose);
  progress(
    `project ${stack.project}, ${compose.command} ${compose.prefix.join(' ')} ${compose.version}`,
  );

  let failed = false;
  const stop = () => {
    process.stderr.write('\ne2e: interrupted, tearing down\n');
    void stack.down().finally(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    await timed('build auth image', () =>
      // The classic builder keeps the container of a failed step unless told not to; Compose v2
      // (BuildKit) has no such containers and no such flag.
      stack.composeMust(
        [
          'build',
          ...(compose.command === 'docker-compose' && compose.version.startsWith('1.')
            ? ['--force-rm']
            : []),
          'auth',
        ],
        'building the auth image',
        { stream: true },
      ),
    );
    const size = (
      await must(
        'docker',
        ['image', 'inspect', '--format', '{{.Size}}', stack.authImage],
        'reading the image size',
      )
    ).trim();
    const baseSize = (
      await must(
        'docker',
        ['image', 'inspect', '--format', '{{.Size}}', BASE_IMAGES[0] as string],
        'reading the base size',
      )
    ).trim();
    pass(
      `auth image ${(Number(size) / 1e6).toFixed(0)} MB, its base ${BASE_IMAGES[0]} ${(Number(baseSize) / 1e6).toFixed(0)} MB`,
    );
    await timed('start stack', () =>
      stack.composeMust(
        [
          'up',
          '--detach',
          '--no-build',
          '--scale',
          `auth=${AUTH_REPLICAS}`,
          'postgres',
          'redis',
          'auth',
        ],
        'starting the stack',
        { stream: true },
      ),
    );
    const containers = await timed('wait for health', () =>
      stack.waitHealthy(['postgres', 'redis', 'auth']),
    );
    await timed('inspect containers', () => checkContainers(stack, containers));
    const kept = await timed('smoke tests', () => smokeTests(stack));
    await timed('restart auth', () => restartCheck(stack, kept));
  } catch (error) {
    failed = true;
    process.stderr.write(
      `\n===== logs of ${stack.project} =====\n${await stack.logs()}\n===== end of logs =====\n`,
    );
    process.stderr.write(
      `e2e: FAILED: ${error instanceof Error ? error.message : String(error)}\n`,
    );
  } finally {
    if (keep && !failed) {
      progress(
        `left running; remove with: ${compose.command} ${stack.composeArgs(['down', '--volumes']).join(' ')} && docker image rm ${stack.authImage}`,
      );
    } else {
      await timed('tear down', () => stack.down());
      const left = await stack.leftovers();
      if (left.length > 0) {
        failed = true;
        process.stderr.write(`e2e: FAILED: left behind after teardown: ${left.join(', ')}\n`);
      } else {
        pass('torn down: no container, network, volume or image of the project is left');
      }
    }
  }
  process.stdout.write(
    `timings: ${timings.map(([p, s]) => `${p} ${s.toFixed(1)} s`).join(', ')}\n`,
  );
  process.stdout.write(`e2e: ${results.length} passed, ${failed ? 1 : 0} failed\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`e2e: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);
