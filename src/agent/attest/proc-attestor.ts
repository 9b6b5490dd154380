// The Linux Attestor, after SPIRE's unix workload attestor: the client
// socket's owner uid and inode come from the kernel's exact sock_diag lookup
// (or its row in /proc/net/tcp{,6}); when more is asked, the process holding
// "socket:[inode]" is found under /proc/<pid>/fd and its status, exe and cgroup are read.
import { CoalescedRead } from './coalesced-read.js';
import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { endianness } from 'node:os';
import { join } from 'node:path';
import { describeError } from '../../core/errors.js';
import type { AttestOutcome, Attestor, ConnectionPeer, FactNeed, ProcessFacts } from './attestor.js';
import { LIVE_CLIENT_STATES, findSocketRow, unmapIpv4, type SocketEnd, type TcpSocketRow } from './proc-net-tcp.js';
import type { SockDiag } from './sock-diag.js';
import { parseCgroupV2Path, parseStatusIds, systemdUnitOf } from './proc-process.js';

export interface ProcAttestorOptions {
  /** Default "/proc"; tests point it at a fixture tree. */
  readonly procRoot?: string;
  readonly littleEndian?: boolean;
  /** How many pids that held app sockets before are tried first (most recent first). */
  readonly hints?: number;
  /** File descriptors read between two yields to the event loop during a scan. */
  readonly fdsPerSlice?: number;
  /**
   * The kernel's exact socket lookup, tried first for the socket owner
   * (system-attestor.ts loads it); without it every lookup reads
   * /proc/net/tcp{,6}, which lists every TCP socket of the host.
   */
  readonly sockDiag?: SockDiag;
}

type SocketOwner = Pick<TcpSocketRow, 'state' | 'uid' | 'inode'>;

const isPid = (name: string): boolean => /^\d+$/.test(name);
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

export class ProcAttestor implements Attestor {
  private readonly root: string;
  private readonly littleEndian: boolean;
  private readonly hintLimit: number;
  private readonly fdsPerSlice: number;
  /** Pids that held app sockets before, most recent last (a Set keeps insertion order). */
  private readonly hints = new Set<number>();
  private readonly tcp: CoalescedRead;
  private readonly tcp6: CoalescedRead;
  private readonly sockDiag: SockDiag | undefined;

  constructor(opts: ProcAttestorOptions = {}) {
    this.root = opts.procRoot ?? '/proc';
    this.littleEndian = opts.littleEndian ?? endianness() === 'LE';
    this.hintLimit = opts.hints ?? 32;
    this.fdsPerSlice = opts.fdsPerSlice ?? 512;
    this.tcp = new CoalescedRead(join(this.root, 'net', 'tcp'));
    this.tcp6 = new CoalescedRead(join(this.root, 'net', 'tcp6'));
    this.sockDiag = opts.sockDiag;
  }

  async attest(peer: ConnectionPeer, need: FactNeed): Promise<AttestOutcome> {
    try {
      const client = { address: unmapIpv4(peer.clientAddress), port: peer.clientPort };
      const server = { address: unmapIpv4(peer.serverAddress), port: peer.serverPort };
      const exact = this.askKernel(client, server);
      const row = exact === 'ask-proc' ? await this.findRow(client, server) : exact;
      const conn = `${peer.clientAddress}:${peer.clientPort} -> ${peer.serverAddress}:${peer.serverPort}`;
      if (!row) {
        const where = exact === 'ask-proc' ? `in ${this.root}/net/tcp or tcp6` : 'by sock_diag';
        return unattested(`no local TCP socket ${conn} ${where} (the caller is not a process in this host's network namespace, or it closed the connection)`);
      }
      if (row.inode === 0 || !LIVE_CLIENT_STATES.has(row.state)) return unattested(`the client socket ${conn} has no owner any more (state ${row.state}: closed before it could be attested)`);
      if (need === 'socket') return { kind: 'facts', facts: { socketUid: row.uid, inode: row.inode } };
      const process = await this.findProcess(row.inode);
      if (!process) {
        return unattested(
          `no process holds socket:[${row.inode}] of ${conn} (uid ${row.uid}): it exited, or the agent cannot read ${this.root}/<pid>/fd of other users (it needs root, or CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH)`,
        );
      }
      return { kind: 'facts', facts: { socketUid: row.uid, inode: row.inode, process } };
    } catch (err) {
      return unattested(`cannot read ${this.root}: ${describeError(err)}`);
    }
  }

  /**
   * The kernel's answer for the client socket (its local end is `client`),
   * or 'ask-proc': no sock_diag here, a zoned link-local address (the
   * request carries no zone), or an unexpected netlink error, for which
   * /proc/net/tcp still gives an exact answer for this connection.
   * An IPv4 lookup also finds a dual-stack (v4-mapped) client socket: both
   * live in the same kernel hash, keyed by the IPv4 4-tuple.
   */
  private askKernel(client: SocketEnd, server: SocketEnd): SocketOwner | undefined | 'ask-proc' {
    if (!this.sockDiag || client.address.includes('%') || server.address.includes('%')) return 'ask-proc';
    const answer = this.sockDiag.lookup(client.address.includes(':') ? 6 : 4, client, server);
    if (answer.kind === 'found') return answer;
    return answer.kind === 'not-found' ? undefined : 'ask-proc';
  }

  /** IPv4 clients may sit on an AF_INET socket (tcp) or a dual-stack one (tcp6, v4-mapped); IPv6 ones only in tcp6. */
  private async findRow(client: SocketEnd, server: SocketEnd): Promise<SocketOwner | undefined> {
    const v4 = !client.address.includes(':');
    if (v4) {
      const row = findSocketRow(await this.tcp.get(), 4, client, server, this.littleEndian);
      if (row) return row;
    }
    const tcp6 = await this.tcp6.get().catch((err: NodeJS.ErrnoException) => {
      // A host with IPv6 disabled has no tcp6; an IPv4 caller was then simply not found.
      if (v4 && err.code === 'ENOENT') return '';
      throw err;
    });
    return findSocketRow(tcp6, 6, client, server, this.littleEndian);
  }

  /** Hinted pids first (the app that called before), then every pid; yields between slices so a full scan does not stall the agent. */
  private async findProcess(inode: number): Promise<ProcessFacts | undefined> {
    const link = `socket:[${inode}]`;
    const hinted = [...this.hints].reverse();
    const tried = new Set<number>();
    let budget = this.fdsPerSlice;
    const scan = async (pid: number): Promise<ProcessFacts | undefined> => {
      tried.add(pid);
      const fdDir = join(this.root, String(pid), 'fd');
      let fds: string[];
      try {
        fds = readdirSync(fdDir);
      } catch {
        return undefined; // gone, or not ours to read
      }
      for (const fd of fds) {
        if (--budget <= 0) {
          await yieldToLoop();
          budget = this.fdsPerSlice;
        }
        let target: string;
        try {
          target = readlinkSync(join(fdDir, fd));
        } catch {
          continue;
        }
        if (target !== link) continue;
        const facts = this.readProcess(pid);
        // Still holding it after the reads: the facts belong to this socket's process, not to a reused pid.
        if (!facts || !this.holds(fdDir, fd, link)) return undefined;
        this.remember(pid);
        return facts;
      }
      return undefined;
    };
    for (const pid of hinted) {
      const f = await scan(pid);
      if (f) return f;
    }
    const pids = readdirSync(this.root).filter(isPid).map(Number);
    for (const pid of pids) {
      if (tried.has(pid)) continue;
      const f = await scan(pid);
      if (f) return f;
    }
    return undefined;
  }

  private holds(fdDir: string, fd: string, link: string): boolean {
    try {
      return readlinkSync(join(fdDir, fd)) === link;
    } catch {
      return false;
    }
  }

  private readProcess(pid: number): ProcessFacts | undefined {
    const dir = join(this.root, String(pid));
    let ids;
    try {
      ids = parseStatusIds(readFileSync(join(dir, 'status'), 'utf8'));
    } catch {
      return undefined;
    }
    if (!ids) return undefined;
    let executable: string | undefined;
    try {
      executable = realpathSync(readlinkSync(join(dir, 'exe')));
    } catch {
      executable = undefined; // deleted or replaced since it started: no executable selector can match
    }
    let cgroup: string | undefined;
    try {
      cgroup = parseCgroupV2Path(readFileSync(join(dir, 'cgroup'), 'utf8'));
    } catch {
      cgroup = undefined;
    }
    return { pid, uid: ids.uid, gid: ids.gid, executable, cgroup, systemdUnit: cgroup === undefined ? undefined : systemdUnitOf(cgroup) };
  }

  private remember(pid: number): void {
    this.hints.delete(pid);
    this.hints.add(pid);
    if (this.hints.size > this.hintLimit) this.hints.delete(this.hints.values().next().value!);
  }
}

function unattested(reason: string): AttestOutcome {
  return { kind: 'unattested', reason };
}
