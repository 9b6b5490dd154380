// A table-driven Attestor for unit tests of the layers above it: answers by
// the client's address and port, and counts what it was asked.
import type { AttestOutcome, Attestor, ConnectionPeer, FactNeed } from './attestor.js';

export class FakeAttestor implements Attestor {
  readonly calls: { peer: ConnectionPeer; need: FactNeed }[] = [];

  /** `answer` sees each connection; the default says nothing is known. */
  constructor(private readonly answer: (peer: ConnectionPeer, need: FactNeed) => AttestOutcome = () => ({ kind: 'unattested', reason: 'the fake knows no process' })) {}

  attest(peer: ConnectionPeer, need: FactNeed): Promise<AttestOutcome> {
    this.calls.push({ peer, need });
    return Promise.resolve(this.answer(peer, need));
  }
}
