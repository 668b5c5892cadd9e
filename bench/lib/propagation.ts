/**
 * Revoke → rejected across workers. Several keep-alive connections poll POST /v1/tokens/verify
 * for one fresh agent token, back to back, so that every worker has just answered "active" (and
 * remembered it) when the token is revoked over another connection. The delay is from sending
 * the revoke to each connection's first "inactive". /proc says which worker holds each
 * connection, so the delay on the worker that did not handle the revoke is reported apart.
 */
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { connectionOwners } from './procfs.js';
import { Samples, summarize, type LatencySummary } from './stats.js';

interface Conn {
  agent: Agent;
  localPort: number;
  worker: number | undefined;
}

interface Reply {
  status: number;
  body: string;
  localPort: number;
}

function post(
  conn: Agent,
  port: number,
  path: string,
  body: unknown,
  bearer?: string,
): Promise<Reply> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        agent: conn,
        host: '127.0.0.1',
        port,
        path,
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(payload),
          ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString('utf8'),
            localPort: (req.socket?.address() as AddressInfo | undefined)?.port ?? 0,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface PropagationResult {
  trials: number;
  pollers: number;
  pollersPerWorker: Record<string, number>;
  /** Per trial, the slowest poller on the worker that did not handle the revoke (ms). */
  otherWorkerMs: LatencySummary;
  /** Per trial, the slowest poller on the worker that handled the revoke (ms). */
  sameWorkerMs: LatencySummary;
  /** Trials in which some poller still saw the token active after 3 s. */
  timedOut: number;
  /** The polling verifies themselves. */
  requests: number;
  rps: number;
  latencyMs: LatencySummary;
  errors: number;
}

export async function measurePropagation(options: {
  port: number;
  workerPids: number[];
  bearer: string;
  trials: number;
  pollers: number;
}): Promise<PropagationResult> {
  const { port, bearer } = options;
  const conns: Conn[] = [];
  for (let i = 0; i <= options.pollers; i++) {
    conns.push({
      agent: new Agent({ keepAlive: true, maxSockets: 1 }),
      localPort: 0,
      worker: undefined,
    });
  }
  const latencies = new Samples();
  let errors = 0;
  const other: number[] = [];
  const same: number[] = [];
  let timedOut = 0;
  let requests = 0;
  let pollSeconds = 0;
  try {
    // Open every connection, then ask /proc which worker holds it.
    const warm = await post(
      conns[0]?.agent as Agent,
      port,
      '/v1/tokens',
      { kind: 'agent' },
      bearer,
    );
    const probe = (JSON.parse(warm.body) as { token: string }).token;
    for (const c of conns)
      c.localPort = (await post(c.agent, port, '/v1/tokens/verify', { token: probe })).localPort;
    const owners = connectionOwners(port, options.workerPids);
    for (const c of conns) c.worker = owners.get(c.localPort);
    const [revoker, ...pollers] = conns as [Conn, ...Conn[]];

    for (let t = 0; t < options.trials; t++) {
      const minted = await post(revoker.agent, port, '/v1/tokens', { kind: 'agent' }, bearer);
      if (minted.status !== 201)
        throw new Error(`mint for the propagation trial: ${minted.status} ${minted.body}`);
      const token = (JSON.parse(minted.body) as { token: string }).token;
      let t0 = Infinity;
      const firstInactive: number[] = pollers.map(() => Infinity);
      const activeSeen: number[] = pollers.map(() => 0);
      let stopAt = Infinity;
      const pollStart = performance.now();
      const loops = pollers.map(async (c, i) => {
        while (performance.now() < stopAt) {
          const sent = performance.now();
          let reply: Reply;
          try {
            reply = await post(c.agent, port, '/v1/tokens/verify', { token });
          } catch {
            errors++;
            continue;
          }
          const now = performance.now();
          latencies.push(now - sent);
          requests++;
          if (reply.status !== 200) errors++;
          else if (reply.body.startsWith('{"active":true')) {
            activeSeen[i] = (activeSeen[i] ?? 0) + 1;
          } else if (t0 !== Infinity) {
            firstInactive[i] = now - t0;
            return;
          } else {
            errors++; // inactive before the revoke: a wrong answer
          }
        }
      });
      // Every poller has seen the token active a few times, so every worker remembers "clear".
      while (activeSeen.some((n) => n < 3)) await sleep(1);
      // A worker's remembered "clear" may be anywhere in its life when a revocation comes.
      await sleep(Math.random() * 300);
      t0 = performance.now();
      const revoked = await post(revoker.agent, port, '/v1/tokens/revoke', { token }, bearer);
      if (revoked.status !== 200) throw new Error(`revoke: ${revoked.status} ${revoked.body}`);
      stopAt = t0 + 3000;
      await Promise.all(loops);
      pollSeconds += (performance.now() - pollStart) / 1000;
      if (firstInactive.some((v) => v === Infinity)) timedOut++;
      const slowest = (onSame: boolean) => {
        const mine = firstInactive.filter(
          (_, i) => (pollers[i]?.worker === revoker.worker) === onSame,
        );
        return mine.length === 0 ? undefined : Math.max(...mine);
      };
      const o = slowest(false);
      const s = slowest(true);
      if (o !== undefined) other.push(o);
      if (s !== undefined) same.push(s);
    }
    const pollersPerWorker: Record<string, number> = {};
    for (const c of pollers) {
      const k = c.worker === revoker.worker ? 'revoking worker' : 'other worker';
      pollersPerWorker[k] = (pollersPerWorker[k] ?? 0) + 1;
    }
    return {
      trials: options.trials,
      pollers: pollers.length,
      pollersPerWorker,
      otherWorkerMs: summarize(other),
      sameWorkerMs: summarize(same),
      timedOut,
      requests,
      rps: requests / pollSeconds,
      latencyMs: latencies.summary(),
      errors,
    };
  } finally {
    for (const c of conns) c.agent.destroy();
  }
}
