/**
 * Loopback ports for the servers tests start (ngircd, sshd, ...): pick a free one, and
 * ask whether something already answers on one.
 */
import { connect, createServer } from 'node:net';

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
