/**
 * Regression: a request that reached a worker after its graceful shutdown began (pipelined, or on
 * a keep-alive connection still busy when SIGTERM came) was answered by Fastify's built-in
 * `return503OnClosing` with a plain `application/json` 503, neither a problem+json error nor a
 * served request. Found by the fault suite (SIGTERM with requests in flight). The worker is fully
 * working until its close completes, so such a request is now served, with `Connection: close`.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestStack, type TestStack } from '../../support/fixtures.js';

let s: TestStack;
beforeAll(async () => {
  s = await createTestStack();
});
afterAll(async () => s?.close());

describe('graceful shutdown', () => {
  it('serves a request that arrives on a busy connection after close() began, then closes it', async () => {
    const { token: app } = await s.appToken();
    const minted = await s.mint(app, { kind: 'bearer' });
    await s.app.listen({ port: 0, host: '127.0.0.1' });
    const address = s.app.server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    const body = JSON.stringify({ token: minted.token });
    const request = (connection: string) =>
      `POST /v1/tokens/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
      `Connection: ${connection}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;

    const socket = connect({ port, host: '127.0.0.1' });
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
    await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
    // The first request is in flight: headers sent, body not yet.
    socket.write(request('keep-alive') + body.slice(0, 10));
    await new Promise((r) => setTimeout(r, 50));
    const closing = s.app.close();
    await new Promise((r) => setTimeout(r, 50));
    // Its body, and a second request pipelined behind it after the shutdown began.
    socket.write(body.slice(10) + request('keep-alive') + body);
    await Promise.race([closed, new Promise((r) => setTimeout(r, 5000))]);
    await closing;

    const statuses = [...received.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);
    expect(statuses).toEqual(['200', '200']);
    expect(received).not.toContain('Service Unavailable');
    expect(received.match(/"active":true/g)?.length).toBe(2);
    expect(received.toLowerCase()).toContain('connection: close');
  });
});
