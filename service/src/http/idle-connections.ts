/**
 * Closes connections on which nothing has moved for `idleMs`: a client that connects and sends
 * nothing, one that stops halfway through a request, or one that stops reading its answers (they
 * would pile up in the worker's memory).
 *
 * Node's own socket timeout (`server.timeout`, Fastify's `connectionTimeout`) does this with a
 * timer per socket, which Node arms anew on every request of a kept-alive connection and refreshes
 * on every read and write (measured in bench/README.md). Here one sweep looks at every open
 * connection's byte counts instead, a few times per `idleMs`: a connection is closed between
 * `idleMs` and 1.25 × `idleMs` after the last byte moved. One found idle is looked at once more
 * after the loop has next polled its sockets, so that bytes that arrived while the worker was busy
 * count.
 *
 * A connection waiting for its next request, with nothing left to send, is left to Node's
 * keep-alive timeout (Node has set it on the socket: `socket.timeout > 0`).
 */
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

interface Seen {
  /** Bytes read, plus bytes written and no longer waiting to go out. */
  moved: number;
  since: number;
}

/** How many times per idle period the connections are looked at. */
const SWEEPS_PER_PERIOD = 4;

export class IdleConnections {
  readonly #idleMs: number;
  readonly #open = new Map<Socket, Seen>();
  readonly #sweep: NodeJS.Timeout;

  constructor(server: Server, idleMs: number) {
    this.#idleMs = idleMs;
    server.on('connection', (socket: Socket) => {
      this.#open.set(socket, { moved: moved(socket), since: Date.now() });
      socket.once('close', () => this.#open.delete(socket));
    });
    this.#sweep = setInterval(
      () => this.#check(Date.now()),
      Math.max(10, idleMs / SWEEPS_PER_PERIOD),
    );
    this.#sweep.unref();
  }

  /** Stops the sweep. */
  close(): void {
    clearInterval(this.#sweep);
    this.#open.clear();
  }

  #check(now: number): void {
    let idle: Socket[] | undefined;
    for (const [socket, seen] of this.#open) {
      if (unmoved(socket, seen, now) && now - seen.since >= this.#idleMs)
        (idle ??= []).push(socket);
    }
    // Timers run before the loop polls its sockets: after the worker was busy for a while, bytes
    // that arrived meanwhile are not read yet. The idle ones are closed after the next poll, and
    // only if still nothing has moved.
    if (idle !== undefined) setImmediate(() => this.#closeIfStill(idle));
  }

  #closeIfStill(idle: Socket[]): void {
    const now = Date.now();
    for (const socket of idle) {
      const seen = this.#open.get(socket);
      if (seen !== undefined && unmoved(socket, seen, now)) {
        this.#open.delete(socket);
        socket.destroy();
      }
    }
  }
}

/**
 * Whether nothing has moved on `socket` since `seen` (and it is not waiting for its next request);
 * if something has, `seen` is brought up to date.
 */
function unmoved(socket: Socket, seen: Seen, now: number): boolean {
  const bytes = moved(socket);
  if (bytes === seen.moved && !waitingForNextRequest(socket)) return true;
  seen.moved = bytes;
  seen.since = now;
  return false;
}

function moved(socket: Socket): number {
  return socket.bytesRead + socket.bytesWritten - socket.writableLength;
}

/** Between requests on a kept-alive connection: Node's keep-alive timeout applies. */
function waitingForNextRequest(socket: Socket): boolean {
  return (socket.timeout ?? 0) > 0 && socket.writableLength === 0;
}
