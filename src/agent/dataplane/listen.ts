// Listening and closing servers as promises, with errors that say what to check.
import type { Server } from 'node:net';
import { EntenteError } from '../../core/errors.js';
import { formatSocketAddress, type SocketAddress } from '../../core/address.js';

export function listenOn(server: Server, at: SocketAddress, what: string): Promise<SocketAddress> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(
        new EntenteError('LISTEN_FAILED', `cannot listen for ${what} on ${formatSocketAddress(at)}: ${err.code ?? err.message}`, {
          cause: err,
          hint: err.code === 'EADDRINUSE' ? 'another process (or another listener of this agent) uses that port' : 'check that the address is configured on this host',
        }),
      );
    };
    server.once('error', onError);
    server.listen(at.port, at.host, () => {
      server.off('error', onError);
      const a = server.address();
      resolve(a && typeof a === 'object' ? { host: a.address, port: a.port } : at);
    });
  });
}

/** Stops listening and waits until the server has closed (callers destroy live connections first). */
export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) {
      resolve();
      return;
    }
    server.close(() => resolve());
  });
}
