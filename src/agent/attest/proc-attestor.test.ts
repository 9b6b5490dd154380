// The /proc attestor against a fixture tree (every failure it reports), and
// against this host's real /proc with a real TCP connection of this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcAttestor } from './proc-attestor.js';
import { encodeProcAddress } from './proc-net-tcp.js';
import type { AttestOutcome, ConnectionPeer } from './attestor.js';
import type { SockDiag, SockDiagAnswer } from './sock-diag.js';

const peer: ConnectionPeer = { clientAddress: '127.81.1.101', clientPort: 43210, serverAddress: '127.81.1.11', serverPort: 15001 };
const line = (client: { address: string; port: number }, server: { address: string; port: number }, state: string, uid: number, inode: number) =>
  `   1: ${encodeProcAddress(client, 4, true)} ${encodeProcAddress(server, 4, true)} ${state} 00000000:00000000 00:00000000 00000000 ${uid} 0 ${inode} 1 0000000000000000 20 4 30 10 -1`;

async function fixture(rows: string[], procs: { pid: number; fds: string[]; uid: number; gid: number; exe?: string; cgroup?: string }[]): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'entente-proc-'));
  await mkdir(join(root, 'net'));
  await writeFile(join(root, 'net', 'tcp'), `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n${rows.join('\n')}\n`);
  await writeFile(join(root, 'net', 'tcp6'), '  sl  local_address remote_address st\n');
  for (const p of procs) {
    const dir = join(root, String(p.pid));
    await mkdir(join(dir, 'fd'), { recursive: true });
    for (const [i, target] of p.fds.entries()) await symlink(target, join(dir, 'fd', String(i)));
    await writeFile(join(dir, 'status'), `Name:\tapp\nUid:\t${p.uid}\t${p.uid}\t${p.uid}\t${p.uid}\nGid:\t${p.gid}\t${p.gid}\t${p.gid}\t${p.gid}\n`);
    if (p.exe) await symlink(p.exe, join(dir, 'exe'));
    await writeFile(join(dir, 'cgroup'), p.cgroup ?? '0::/\n');
  }
  await mkdir(join(root, 'self'));
  return root;
}

test('fixture /proc: socket owner, then the process holding the socket with its ids, executable and cgroup', async () => {
  const exe = realpathSync(process.execPath);
  const root = await fixture(
    [line({ address: peer.clientAddress, port: peer.clientPort }, { address: peer.serverAddress, port: peer.serverPort }, '01', 1001, 777)],
    [
      { pid: 10, fds: ['/dev/null', 'socket:[776]', 'pipe:[5]'], uid: 0, gid: 0 },
      { pid: 42, fds: ['/dev/null', 'socket:[777]'], uid: 1001, gid: 1002, exe, cgroup: '12:pids:/\n0::/system.slice/shop-frontend.service\n' },
    ],
  );
  try {
    const a = new ProcAttestor({ procRoot: root, fdsPerSlice: 1 });
    assert.deepEqual(await a.attest(peer, 'socket'), { kind: 'facts', facts: { socketUid: 1001, inode: 777 } });
    const full = await a.attest(peer, 'process');
    assert.deepEqual(full, {
      kind: 'facts',
      facts: { socketUid: 1001, inode: 777, process: { pid: 42, uid: 1001, gid: 1002, executable: exe, cgroup: '/system.slice/shop-frontend.service', systemdUnit: 'shop-frontend.service' } },
    });
    // The same answer again (now from the hinted pid first).
    assert.deepEqual(await a.attest(peer, 'process'), full);
    // A dual-stack server socket reports the peer v4-mapped: same row.
    assert.deepEqual(await a.attest({ ...peer, clientAddress: `::ffff:${peer.clientAddress}`, serverAddress: `::ffff:${peer.serverAddress}` }, 'socket'), { kind: 'facts', facts: { socketUid: 1001, inode: 777 } });
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('fixture /proc: every way to not know is an unattested outcome with a reason, never a throw', async () => {
  const c = { address: peer.clientAddress, port: peer.clientPort };
  const s = { address: peer.serverAddress, port: peer.serverPort };
  const root = await fixture([line(c, s, '06', 0, 0), line({ ...c, port: 1 }, s, '01', 0, 999)], [{ pid: 5, fds: ['socket:[1]'], uid: 0, gid: 0 }]);
  try {
    const a = new ProcAttestor({ procRoot: root });
    const cases: [ConnectionPeer, RegExp][] = [
      [{ ...peer, clientPort: 2 }, /^no local TCP socket 127\.81\.1\.101:2 -> 127\.81\.1\.11:15001 in .*\/net\/tcp or tcp6 \(the caller is not a process in this host's network namespace/],
      [peer, /has no owner any more \(state 6: closed before it could be attested\)/],
      [{ ...peer, clientPort: 1 }, /^no process holds socket:\[999\] of .* \(uid 0\): it exited, or the agent cannot read .*\/<pid>\/fd of other users \(it needs root, or CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH\)/],
    ];
    for (const [p, want] of cases) {
      const o = await a.attest(p, 'process');
      assert.equal(o.kind, 'unattested');
      assert.match(o.kind === 'unattested' ? o.reason : '', want);
    }
    const gone = await new ProcAttestor({ procRoot: join(root, 'missing') }).attest(peer, 'socket');
    assert.equal(gone.kind, 'unattested');
    assert.match(gone.kind === 'unattested' ? gone.reason : '', /^cannot read .*missing: .*ENOENT/);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

test('real /proc: a connection from this process is attested to this process, its uid and its executable', { skip: process.platform !== 'linux' }, async () => {
  const server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  const client = connect({ host: '127.0.0.1', port });
  const ours = await accepted;
  try {
    const o = await new ProcAttestor().attest({ clientAddress: ours.remoteAddress!, clientPort: ours.remotePort!, serverAddress: ours.localAddress!, serverPort: ours.localPort! }, 'process');
    assert.equal(o.kind, 'facts', JSON.stringify(o));
    const f = o.kind === 'facts' ? o.facts : undefined;
    assert.equal(f?.socketUid, process.getuid!());
    assert.equal(f?.process?.pid, process.pid);
    assert.equal(f?.process?.uid, process.geteuid!());
    assert.equal(f?.process?.executable, realpathSync(process.execPath));
  } finally {
    client.destroy();
    ours.destroy();
    server.close();
  }
});

test('fixture /proc with a fake sock_diag: the kernel\'s answer comes first; /proc/net/tcp only when it cannot answer', async () => {
  const c = { address: peer.clientAddress, port: peer.clientPort };
  const s = { address: peer.serverAddress, port: peer.serverPort };
  const root = await fixture([line(c, s, '01', 1001, 777)], []);
  const asked: string[] = [];
  const fake = (answer: SockDiagAnswer): SockDiag => ({
    lookup: (family, local, remote) => {
      asked.push(`${family} ${local.address}:${local.port} ${remote.address}:${remote.port}`);
      return answer;
    },
  });
  const v6 = { clientAddress: 'fd00::7', clientPort: 1, serverAddress: 'fd00::1', serverPort: 2 };
  const cases: { name: string; answer: SockDiagAnswer; peer: ConnectionPeer; want: AttestOutcome | RegExp; asked: string[] }[] = [
    { name: 'found', answer: { kind: 'found', uid: 5, inode: 9, state: 1 }, peer, want: { kind: 'facts', facts: { socketUid: 5, inode: 9 } }, asked: ['4 127.81.1.101:43210 127.81.1.11:15001'] },
    {
      name: 'v4-mapped peer: looked up as IPv4',
      answer: { kind: 'found', uid: 5, inode: 9, state: 1 },
      peer: { ...peer, clientAddress: `::ffff:${peer.clientAddress}`, serverAddress: `::ffff:${peer.serverAddress}` },
      want: { kind: 'facts', facts: { socketUid: 5, inode: 9 } },
      asked: ['4 127.81.1.101:43210 127.81.1.11:15001'],
    },
    { name: 'IPv6', answer: { kind: 'found', uid: 5, inode: 9, state: 1 }, peer: v6, want: { kind: 'facts', facts: { socketUid: 5, inode: 9 } }, asked: ['6 fd00::7:1 fd00::1:2'] },
    { name: 'TIME_WAIT', answer: { kind: 'found', uid: 0, inode: 0, state: 6 }, peer, want: /has no owner any more \(state 6/, asked: ['4 127.81.1.101:43210 127.81.1.11:15001'] },
    { name: 'not found: no /proc read', answer: { kind: 'not-found' }, peer, want: /^no local TCP socket 127\.81\.1\.101:43210 -> 127\.81\.1\.11:15001 by sock_diag \(the caller is not a process/, asked: ['4 127.81.1.101:43210 127.81.1.11:15001'] },
    { name: 'netlink error: /proc answers', answer: { kind: 'error', message: 'recv(sock_diag): boom' }, peer, want: { kind: 'facts', facts: { socketUid: 1001, inode: 777 } }, asked: ['4 127.81.1.101:43210 127.81.1.11:15001'] },
    { name: 'zoned link-local: /proc answers, kernel not asked', answer: { kind: 'not-found' }, peer: { ...v6, clientAddress: 'fe80::7%eth0' }, want: /^no local TCP socket fe80::7%eth0:1 -> fd00::1:2 in .*\/net\/tcp or tcp6/, asked: [] },
  ];
  try {
    for (const k of cases) {
      asked.length = 0;
      const o = await new ProcAttestor({ procRoot: root, sockDiag: fake(k.answer) }).attest(k.peer, 'socket');
      if (k.want instanceof RegExp) {
        assert.equal(o.kind, 'unattested', k.name);
        assert.match(o.kind === 'unattested' ? o.reason : '', k.want, k.name);
      } else assert.deepEqual(o, k.want, k.name);
      assert.deepEqual(asked, k.asked, k.name);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
