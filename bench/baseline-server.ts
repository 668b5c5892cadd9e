/**
 * The two reference servers the service is measured against, with the service's worker count
 * (node:cluster, one shared port) and the same request the load generator sends the service:
 *
 * - `floor`: POST /floor parses the JSON body (as Fastify does for any route) and returns a
 *   constant;
 * - `verify`: POST /verify does one raw node:crypto ES256 verification of `body.token` and
 *   nothing else: what our verify could reach if all our own work were free.
 *
 * Usage: node baseline-server.js <floor|verify> <port> <workers> [<public JWK x> <public JWK y>]
 * Prints "ready" on stdout once every worker listens; SIGTERM stops it.
 */
import cluster from 'node:cluster';
import { createPublicKey, verify } from 'node:crypto';
import Fastify from 'fastify';

const [mode = 'floor', portArg = '0', workersArg = '2', x = '', y = ''] = process.argv.slice(2);
const port = Number(portArg);
const workers = Number(workersArg);

async function worker(): Promise<void> {
  const app = Fastify({ logger: false });
  if (mode === 'verify') {
    const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x, y }, format: 'jwk' });
    const verifyKey = { key, dsaEncoding: 'ieee-p1363' as const };
    app.post<{ Body: { token: string } }>('/verify', async (request) => {
      const token = request.body.token;
      const dot = token.lastIndexOf('.');
      const active = verify(
        'sha256',
        Buffer.from(token.slice(0, dot)),
        verifyKey,
        Buffer.from(token.slice(dot + 1), 'base64url'),
      );
      return { active };
    });
  } else {
    app.post('/floor', async () => ({ active: true }));
  }
  await app.listen({ port, host: '127.0.0.1' });
  process.send?.('listening');
  process.on('SIGTERM', () => {
    void app.close().then(() => process.exit(0));
  });
}

function primary(): void {
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    cluster.fork().on('message', (m) => {
      if (m === 'listening' && ++listening === workers) process.stdout.write('ready\n');
    });
  }
  const stop = () => {
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGTERM');
    setTimeout(() => process.exit(0), 2000).unref();
    cluster.on('exit', () => {
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

if (cluster.isPrimary) primary();
else await worker();
