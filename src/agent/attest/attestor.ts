// The seam between the data plane and whatever can tell who is on the other
// end of an app connection: the Linux /proc attestor today; a Kubernetes
// attestor (network namespace or cgroup -> pod) can plug in beside it.

/** Both ends of an accepted app connection, as the agent's socket sees them. */
export interface ConnectionPeer {
  /** The app's end: our socket's remoteAddress / remotePort. */
  readonly clientAddress: string;
  readonly clientPort: number;
  /** Our end: our socket's localAddress / localPort. */
  readonly serverAddress: string;
  readonly serverPort: number;
}

/** How much an attestation must find: the socket's owner uid only, or the process holding the socket too. */
export type FactNeed = 'socket' | 'process';

export interface ProcessFacts {
  readonly pid: number;
  /** Effective uid and gid of the process. */
  readonly uid: number;
  readonly gid: number;
  /** Real path of the running executable; undefined if it cannot be read (e.g. deleted since it started). */
  readonly executable: string | undefined;
  /** cgroup v2 path; undefined on hosts without the unified hierarchy. */
  readonly cgroup: string | undefined;
  /** systemd unit derived from the cgroup path, if it lies inside one. */
  readonly systemdUnit: string | undefined;
}

export interface CallerFacts {
  /** The uid the client socket was created with, as the kernel records it. */
  readonly socketUid: number;
  readonly inode: number;
  /** Present when the attestation was asked for 'process'. */
  readonly process?: ProcessFacts;
}

export type AttestOutcome = { readonly kind: 'facts'; readonly facts: CallerFacts } | { readonly kind: 'unattested'; readonly reason: string };

/**
 * Contract: given both ends of an accepted TCP connection, find who owns the
 * client end and return its facts, or `unattested` with a reason an operator
 * can act on ("no local socket ...", "/proc/... not readable: ..."). Never
 * throws and never rejects; callers refuse on `unattested` (fail closed).
 * Called once per connection; implementations may keep hints (pids seen
 * before) but must judge every connection afresh. Another implementation
 * (Kubernetes: the pod whose network namespace or cgroup holds the socket)
 * returns the same facts plus its own, matched by its own selectors.
 */
export interface Attestor {
  attest(peer: ConnectionPeer, need: FactNeed): Promise<AttestOutcome>;
}
