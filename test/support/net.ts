/**
 * Loopback ports for the servers tests start (ngircd, sshd, ...): pick a free one, ask
 * whether something already answers on one; a server that accepts and never answers; an
 * HTTP answer that never ends.
 */
import type { ServerResponse } from 'node:http';
import { connect, createServer, type Socket } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** A port that was free a moment ago (bind :0 on loopback, read it, close). */
export function freePort(host = LOOPBACK): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Whether a TCP connection to `host:port` is accepted right now (closed at once). */
export function portAnswers(port: number, host = LOOPBACK): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface SilentServer {
  port: number;
  /** How many accepted connections are still open (the client has not closed them). */
  openConnections(): number;
  /** Drops the open connections and stops listening. */
  close(): Promise<void>;
}

/**
 * Accepts connections on loopback and never says a word, the worst kind of server. It
 * reads (and ignores) what clients send, so it notices when they close.
 */
export async function startSilentServer(host = LOOPBACK): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.resume();
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    openConnections: () => sockets.size,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Answers 200 with `head` and then `chunk` again and again (no Content-Length, never ended),
 * as fast as the client reads, until the client drops the connection; `onClose` is told then.
 */
export function answerForever(res: ServerResponse, head: string, chunk: string, onClose: () => void): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.write(head);
  const more = () => {
    while (!res.destroyed && res.write(chunk));
  };
  res.on('drain', more);
  res.on('close', onClose);
  more();
}
