/**
 * What `npm run e2e:docker` needs from Docker: running the CLI (`docker`, and `docker compose` or
 * the older `docker-compose`), reading `docker inspect` output, and the checks it makes on it.
 * The checks on inspected containers are pure functions, so they are unit-tested without Docker.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';

/** A command that ran; `code` is its exit status. */
export interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunOptions {
  /** Extra environment for the child (the parent's is passed on too). */
  readonly env?: Readonly<Record<string, string>>;
  /** Copy the child's output to our stderr as it comes (builds, logs). */
  readonly stream?: boolean;
  /** Kill the child after this long. */
  readonly timeoutMs?: number;
  /** Text for the child's stdin. */
  readonly input?: string;
}

/** Runs a command without a shell; never throws for a non-zero exit (check `code`). */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, [...args], {
      env: { ...process.env, ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (options.stream) process.stderr.write(d);
    });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (options.stream) process.stderr.write(d);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            stderr += `\n(killed after ${options.timeoutMs} ms)`;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (error) => {
      if (timer) clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // A command may exit without reading its input (most do not read it at all): the pipe then
    // breaks, and its EPIPE is no failure of ours; the exit code says how the command did.
    child.stdin.on('error', () => {});
    child.stdin.end(options.input ?? '');
  });
}

/** A failed step of the end-to-end check, with what to do about it. */
export class E2eError extends Error {
  override readonly name = 'E2eError';
}

/** Runs a command and returns its stdout, or throws an `E2eError` that shows its output. */
export async function must(
  command: string,
  args: readonly string[],
  what: string,
  options: RunOptions = {},
): Promise<string> {
  const ran = await run(command, args, options);
  if (ran.code !== 0) {
    const output = `${ran.stdout}\n${ran.stderr}`.trim().split('\n').slice(-30).join('\n');
    throw new E2eError(
      `${what} failed (exit ${ran.code}): ${command} ${args.join(' ')}\n${output}`,
    );
  }
  return ran.stdout;
}

/** How to call Compose here: the `docker compose` plugin if present, else `docker-compose`. */
export interface ComposeCli {
  readonly command: string;
  readonly prefix: readonly string[];
  readonly version: string;
}

/** Finds a Compose CLI; throws with install advice when there is none. */
export async function findCompose(): Promise<ComposeCli> {
  const plugin = await run('docker', ['compose', 'version', '--short']).catch(() => undefined);
  if (plugin?.code === 0)
    return { command: 'docker', prefix: ['compose'], version: plugin.stdout.trim() };
  const standalone = await run('docker-compose', ['version', '--short']).catch(() => undefined);
  if (standalone?.code === 0)
    return { command: 'docker-compose', prefix: [], version: standalone.stdout.trim() };
  throw new E2eError(
    'no Docker Compose: install the compose plugin (docker-compose-plugin) or, on Debian, apt-get install -y docker-compose',
  );
}

/** A fresh Compose project name: lower-case letters and digits, unique per run. */
export function uniqueProjectName(now: number = Date.now()): string {
  return `quinte2e${now.toString(36)}${randomBytes(3).toString('hex')}`;
}

/** The part of `docker inspect <container>` the checks read. */
export interface InspectedContainer {
  readonly Id: string;
  readonly Name: string;
  readonly Config: {
    readonly User: string;
    readonly Image: string;
    readonly Labels: Readonly<Record<string, string>> | null;
  };
  readonly State: {
    readonly Status: string;
    readonly ExitCode: number;
    readonly Restarting?: boolean;
    readonly Health?: {
      readonly Status: string;
      readonly Log?: readonly { readonly Output: string; readonly ExitCode: number }[];
    };
  };
  readonly HostConfig: {
    readonly PortBindings: Readonly<
      Record<string, readonly { HostIp: string; HostPort: string }[] | null>
    > | null;
    readonly RestartPolicy?: { readonly Name: string };
    readonly Init?: boolean | null;
  };
  readonly NetworkSettings: {
    readonly Ports: Readonly<
      Record<string, readonly { HostIp: string; HostPort: string }[] | null>
    > | null;
    readonly Networks: Readonly<
      Record<string, { readonly IPAddress: string; readonly Aliases: readonly string[] | null }>
    >;
  };
}

/** The Compose service a container belongs to. */
export function serviceOf(container: InspectedContainer): string {
  return container.Config.Labels?.['com.docker.compose.service'] ?? '?';
}

/** Host ports a container publishes, as `host-ip:port->container-port`; empty when none. */
export function publishedPorts(container: InspectedContainer): string[] {
  const found = new Set<string>();
  for (const source of [container.HostConfig.PortBindings, container.NetworkSettings.Ports]) {
    for (const [port, bindings] of Object.entries(source ?? {})) {
      for (const binding of bindings ?? [])
        found.add(`${binding.HostIp || '0.0.0.0'}:${binding.HostPort}->${port}`);
    }
  }
  return [...found].sort();
}

/** Where the stack stands: every container healthy, some still starting, or a failure to report. */
export type StackHealth =
  | { readonly state: 'healthy' }
  | { readonly state: 'starting'; readonly waitingFor: readonly string[] }
  | { readonly state: 'failed'; readonly reason: string };

/** Judges a set of inspected containers; each must be running with a health check that passed. */
export function judgeHealth(
  containers: readonly InspectedContainer[],
  expectedServices: readonly string[],
): StackHealth {
  const waitingFor: string[] = [];
  for (const service of expectedServices) {
    if (!containers.some((c) => serviceOf(c) === service))
      waitingFor.push(`${service} (no container yet)`);
  }
  for (const c of containers) {
    const name = c.Name.replace(/^\//, '');
    if (c.State.Status === 'exited' || c.State.Status === 'dead') {
      return { state: 'failed', reason: `${name} exited with code ${c.State.ExitCode}` };
    }
    const health = c.State.Health?.Status;
    if (health === undefined) return { state: 'failed', reason: `${name} has no health check` };
    if (health === 'unhealthy') {
      const last = c.State.Health?.Log?.at(-1)?.Output.trim() ?? '';
      return { state: 'failed', reason: `${name} is unhealthy${last ? `: ${last}` : ''}` };
    }
    if (health !== 'healthy' || c.State.Status !== 'running')
      waitingFor.push(`${name} (${c.State.Status}, ${health})`);
  }
  return waitingFor.length === 0 ? { state: 'healthy' } : { state: 'starting', waitingFor };
}

/** Finds the `kept-tokens: {…}` line that `smoke.js --keep-tokens` prints. */
export function keptTokensLine(stdout: string): string | undefined {
  const line = stdout.split('\n').find((l) => l.startsWith('kept-tokens: '));
  return line?.slice('kept-tokens: '.length).trim();
}

/** Parses `npm run bootstrap`'s JSON lines; the first token created for `customerId`. */
export function bootstrapTokenFor(stdout: string, customerId: string): string | undefined {
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    try {
      const row = JSON.parse(line) as { customer_id?: unknown; app_token?: unknown };
      if (row.customer_id === customerId && typeof row.app_token === 'string') return row.app_token;
    } catch {
      // not a result line
    }
  }
  return undefined;
}
