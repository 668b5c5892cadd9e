/**
 * A raw TCP connection to a server under test, for what an HTTP client hides: a request sent in
 * pieces (in flight across a signal or a close), pipelining, and who closes the connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawConnection {
  socket: Socket;
  /** Everything received so far, as text. */
  received: () => string;
  /** Whether the connection has closed within `ms` (by the other side, unless we closed it). */
  closedWithin: (ms: number) => Promise<boolean>;
}

/** Connects to 127.0.0.1:`port`; resolves once connected. */
export async function rawConnection(port: number): Promise<RawConnection> {
  const socket = connect({ port, host: '127.0.0.1' });
  let received = '';
  socket.on('data', (d: Buffer) => (received += d.toString()));
  socket.on('error', () => {});
  const closed = new Promise<boolean>((resolve) => socket.on('close', () => resolve(true)));
  await new Promise<void>((resolve) => socket.on('connect', () => resolve()));
  return {
    socket,
    received: () => received,
    closedWithin: (ms) =>
      Promise.race([closed, new Promise<boolean>((r) => setTimeout(() => r(false), ms))]),
  };
}
