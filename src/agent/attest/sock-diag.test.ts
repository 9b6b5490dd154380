// The sock_diag addon against this host's kernel: for real loopback socket
// pairs it says what /proc/net/tcp{,6} says (uid, inode); unknown and closed
// tuples are not attested; a missing or broken addon falls back to /proc.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSockDiag, type SockDiag } from './sock-diag.js';
import { systemAttestor } from './system-attestor.js';
import { ProcAttestor } from './proc-attestor.js';
import { findSocketRow, unmapIpv4, type SocketEnd } from './proc-net-tcp.js';
import { eventually } from '../../core/eventually.js';
import type { ConnectionPeer } from './attestor.js';

const linux = process.platform === 'linux';
const LE = true; // every Linux host CI runs on; proc-net-tcp.test.ts covers big-endian encoding

/** A connected pair: `client` dialled `host` (as `dial`, when given), `accepted` is the server's end. */
async function pair(host: string, dial = host): Promise<{ accepted: Socket; client: Socket; close: () => void }> {
  const server: Server = createServer();
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((r) => server.listen(0, host, r));
  const client = connect({ host: dial, port: (server.address() as { port: number }).port });
  client.on('error', () => {});
  const ours = await accepted;
  await new Promise<void>((r) => (client.connecting ? client.once('connect', () => r()) : r()));
  return {
    accepted: ours,
    client,
    close: () => {
      client.destroy();
      ours.destroy();
      server.close();
    },
  };
}

/** The client socket as the agent sees it: its local end is our remote end. */
const ends = (s: Socket): { local: SocketEnd; remote: SocketEnd } => ({
  local: { address: unmapIpv4(s.remoteAddress!), port: s.remotePort! },
  remote: { address: unmapIpv4(s.localAddress!), port: s.localPort! },
});
const peerOf = (s: Socket): ConnectionPeer => ({ clientAddress: s.remoteAddress!, clientPort: s.remotePort!, serverAddress: s.localAddress!, serverPort: s.localPort! });

function loaded(): SockDiag {
  const l = loadSockDiag();
  assert.equal(l.kind, 'loaded', `the addon is built by npm ci (node-gyp): ${l.kind === 'unavailable' ? l.reason : ''}`);
  return (l as Extract<typeof l, { kind: 'loaded' }>).sockDiag;
}

const cases: { name: string; listen: string; dial?: string; family: 4 | 6; procFile: 'tcp' | 'tcp6' }[] = [
  { name: 'IPv4 (127.0.0.1)', listen: '127.0.0.1', family: 4, procFile: 'tcp' },
  { name: 'IPv6 (::1)', listen: '::1', family: 6, procFile: 'tcp6' },
  // An AF_INET6 client dialling a v4-mapped address: its row is in tcp6, the kernel finds it by the IPv4 tuple.
  { name: 'dual-stack client socket (::ffff:127.0.0.1)', listen: '127.0.0.1', dial: '::ffff:127.0.0.1', family: 4, procFile: 'tcp6' },
];

for (const c of cases) {
  test(`sock_diag: ${c.name} client socket has the uid and inode /proc/net/${c.procFile} gives`, { skip: !linux }, async () => {
    const sd = loaded();
    const p = await pair(c.listen, c.dial);
    try {
      const { local, remote } = ends(p.accepted);
      const row = findSocketRow(readFileSync(`/proc/net/${c.procFile}`, 'utf8'), c.procFile === 'tcp' ? 4 : 6, local, remote, LE);
      assert.ok(row && row.inode > 0, `the client socket is in /proc/net/${c.procFile}`);
      assert.deepEqual(sd.lookup(c.family, local, remote), { kind: 'found', uid: row.uid, inode: row.inode, state: 1 });
      // The server's end is another socket: another inode.
      const server = sd.lookup(c.family, remote, local);
      assert.equal(server.kind, 'found');
      assert.notEqual(server.kind === 'found' ? server.inode : 0, row.inode);
    } finally {
      p.close();
    }
  });
}

test('sock_diag: an unknown tuple is not found; bad arguments are error values naming what was expected', { skip: !linux }, async () => {
  const sd = loaded();
  const p = await pair('127.0.0.1');
  try {
    const { local, remote } = ends(p.accepted);
    assert.deepEqual(sd.lookup(4, local, { ...remote, port: remote.port === 1 ? 2 : 1 }), { kind: 'not-found' });
    assert.deepEqual(sd.lookup(6, { address: '::1', port: local.port }, { address: '::1', port: remote.port }), { kind: 'not-found' });
  } finally {
    p.close();
  }
  assert.deepEqual(sd.lookup(4, { address: '::1', port: 1 }, { address: '127.0.0.1', port: 2 }), { kind: 'error', message: 'addresses must be dotted IPv4 literals' });
  assert.deepEqual(sd.lookup(6, { address: 'fe80::1%eth0', port: 1 }, { address: '::1', port: 2 }), { kind: 'error', message: 'addresses must be IPv6 literals without a zone' });
  assert.deepEqual(sd.lookup(4, { address: '127.0.0.1', port: 70000 }, { address: '127.0.0.1', port: 2 }), { kind: 'error', message: 'ports must be integers from 0 to 65535' });
  assert.deepEqual(sd.lookup(7 as 4, { address: '127.0.0.1', port: 1 }, { address: '127.0.0.1', port: 2 }), { kind: 'error', message: 'family must be 4 or 6' });
});

test('sock_diag attestor: a live connection is attested to this process; once closed, it is not', { skip: !linux }, async () => {
  const sd = loaded();
  const a = new ProcAttestor({ sockDiag: sd });
  const p = await pair('127.0.0.1');
  const peer = peerOf(p.accepted);
  try {
    const o = await a.attest(peer, 'process');
    assert.equal(o.kind, 'facts', JSON.stringify(o));
    assert.equal(o.kind === 'facts' ? o.facts.process?.pid : 0, process.pid);
    assert.equal(o.kind === 'facts' ? o.facts.socketUid : -1, process.getuid!());
  } finally {
    p.close();
  }
  // The client closes: TIME_WAIT (no owner) and later gone; neither is attested.
  const closed = await eventually(async () => {
    const o = await a.attest(peer, 'socket');
    return o.kind === 'unattested' ? o : undefined;
  }, { what: 'the closed client socket to lose its owner' });
  assert.match(closed.reason, /has no owner any more \(state \d+|no local TCP socket .* by sock_diag/);
});

test('loader: a missing addon is unavailable with the path and what builds it; the system attestor then reads /proc/net/tcp', { skip: !linux }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'entente-sockdiag-'));
  try {
    const missing = join(dir, 'sock_diag.node');
    const l = loadSockDiag(missing);
    assert.deepEqual(l, { kind: 'unavailable', reason: `no addon at ${missing} (npm install builds it with node-gyp, which needs python3, make and a C compiler)` });
    const sys = systemAttestor(() => loadSockDiag(missing));
    assert.equal(sys.path, 'proc_net_tcp');
    assert.equal(sys.fallbackReason, l.kind === 'unavailable' ? l.reason : '');
    // The fallback still attests a real connection.
    const p = await pair('127.0.0.1');
    try {
      const o = await sys.attestor.attest(peerOf(p.accepted), 'socket');
      assert.equal(o.kind, 'facts', JSON.stringify(o));
    } finally {
      p.close();
    }
    await writeFile(missing, 'not a shared object');
    const broken = loadSockDiag(missing);
    assert.equal(broken.kind, 'unavailable');
    assert.match(broken.kind === 'unavailable' ? broken.reason : '', new RegExp(`^cannot load ${missing.replace(/[.]/g, '\\.')}: `));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  assert.equal(systemAttestor().path, 'sock_diag', 'the built addon is found from dist/ and used by default');
});
