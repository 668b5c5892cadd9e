/**
 * Regressions of graceful shutdown, found by the fault suite (SIGTERM with requests in flight).
 *
 * 1. A request routed after the worker's close began (its headers still arriving when SIGTERM
 *    came) was answered by Fastify's built-in `return503OnClosing` with a plain
 *    `application/json` 503, neither a problem+json error nor a served request. The worker is
 *    fully working until its close completes, so such a request is now served, with
 *    `Connection: close`.
 * 2. A request in flight when close began was answered `Connection: keep-alive`, so a client that
 *    keeps its connections open (a keep-alive pool) held the worker to the end of its grace
 *    period. Its answer now says `Connection: close` and ends the connection; a request the
 *    client pipelined behind it is not processed (RFC 9112 §9.6: the client sends it again on a
 *    new connection).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTestStack, type TestStack } from '../../support/fixtures.js';
import { rawConnection, type RawConnection } from '../../support/raw-connection.js';

let s: TestStack;
beforeEach(async () => {
  s = await createTestStack();
});
afterEach(async () => s?.close());

/** A verify request for a fresh bearer token: its head and its body. */
async function verifyRequest(): Promise<{ head: string; body: string }> {
  const { token: app } = await s.appToken();
  const minted = await s.mint(app, { kind: 'bearer' });
  const body = JSON.stringify({ token: minted.token });
  const head =
    `POST /v1/tokens/verify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n` +
    `Connection: keep-alive\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n`;
  return { head, body };
}

/** A raw connection to the app, listening on a free port. */
async function connectToApp(): Promise<RawConnection> {
  await s.app.listen({ port: 0, host: '127.0.0.1' });
  const address = s.app.server.address();
  return rawConnection(typeof address === 'object' && address ? address.port : 0);
}

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
const statuses = (text: string) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => m[1]);

describe('graceful shutdown', () => {
  it('serves a request routed after close() began (its headers still arriving), then closes the connection', async () => {
    const { head, body } = await verifyRequest();
    const c = await connectToApp();
    c.socket.write(head.slice(0, 20));
    await pause(50);
    const closing = s.app.close();
    await pause(50);
    c.socket.write(head.slice(20) + body);
    expect(await c.closedWithin(5000)).toBe(true);
    await closing;

    expect(statuses(c.received())).toEqual(['200']);
    expect(c.received()).not.toContain('Service Unavailable');
    expect(c.received()).toContain('"active":true');
    expect(c.received().toLowerCase()).toContain('connection: close');
  });

  it('answers a request in flight when close() began with Connection: close and ends the connection; a request pipelined behind it is not processed', async () => {
    const { head, body } = await verifyRequest();
    const c = await connectToApp();
    // In flight: headers sent, body not yet.
    c.socket.write(head + body.slice(0, 10));
    await pause(50);
    const closing = s.app.close();
    await pause(50);
    // Its body, and a second request pipelined behind it.
    c.socket.write(body.slice(10) + head + body);
    // The server ends the connection itself: a keep-alive client does not hold the close.
    expect(await c.closedWithin(5000)).toBe(true);
    await closing;

    expect(statuses(c.received())).toEqual(['200']);
    expect(c.received().match(/"active":true/g)?.length).toBe(1);
    expect(c.received().toLowerCase()).toContain('connection: close');
    expect(c.received()).not.toContain('Service Unavailable');
  });
});
