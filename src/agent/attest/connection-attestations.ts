// Attestation once per app connection: the outcome is kept per socket (a
// WeakMap, so it goes with the socket), and every request on a keep-alive
// proxy connection reuses it.
import type { Socket } from 'node:net';
import type { AttestOutcome, Attestor, ConnectionPeer, FactNeed } from './attestor.js';

export type LookupObserver = (need: FactNeed, outcome: AttestOutcome, seconds: number) => void;

export function peerOf(socket: Socket): ConnectionPeer | undefined {
  const { remoteAddress, remotePort, localAddress, localPort } = socket;
  if (remoteAddress === undefined || remotePort === undefined || localAddress === undefined || localPort === undefined) return undefined;
  return { clientAddress: remoteAddress, clientPort: remotePort, serverAddress: localAddress, serverPort: localPort };
}

export class ConnectionAttestations {
  private readonly bySocket = new WeakMap<Socket, { need: FactNeed; outcome: Promise<AttestOutcome> }>();

  constructor(private readonly attestor: Attestor, private readonly observe?: LookupObserver) {}

  /**
   * The outcome for this connection's client, looked up on first ask. A later
   * ask for more than was looked up (a new snapshot now declares an
   * executable) looks up again; a socket-only ask reuses a process lookup.
   */
  factsFor(socket: Socket, need: FactNeed): Promise<AttestOutcome> {
    const cached = this.bySocket.get(socket);
    if (cached && (cached.need === 'process' || need === 'socket')) return cached.outcome;
    const peer = peerOf(socket);
    if (!peer) return Promise.resolve({ kind: 'unattested', reason: 'the connection closed before its caller could be attested' });
    const started = performance.now();
    const outcome = this.attestor.attest(peer, need).then((o) => {
      this.observe?.(need, o, (performance.now() - started) / 1000);
      return o;
    });
    this.bySocket.set(socket, { need, outcome });
    return outcome;
  }
}
