// /proc/net/tcp{,6} parsing on fixture text, both byte orders, and a property
// test: any row the kernel could print parses back to what was printed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { encodeProcAddress, findSocketRow, ipv6Bytes, parseProcAddress, parseProcNetTcpLine, unmapIpv4 } from './proc-net-tcp.js';

// Captured on a little-endian host: a listener, an app's connection to the agent proxy (127.81.1.101:43210 -> 127.81.1.11:15001), the agent's side of it, and a TIME_WAIT row.
const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0B01517F:3A99 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 48211 1 000000002ea0105e 100 0 0 10 0
   1: 6501517F:A8CA 0B01517F:3A99 01 00000000:00000000 00:00000000 00000000 65534        0 51877 1 00000000e537de5e 20 4 30 10 -1
   2: 0B01517F:3A99 6501517F:A8CA 01 00000000:00000000 00:00000000 00000000     0        0 51878 1 000000008f03aa11 20 4 30 10 -1
   3: 6501517F:A8CB 0B01517F:3A99 06 00000000:00000000 03:00000F69 00000000     0        0 0 3 00000000e537de5e
`;
const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0000000000000000FFFF00006501517F:A8CC 0000000000000000FFFF00000B01517F:3A99 01 00000000:00000000 00:00000000 00000000  1001        0 61000 1 0000000000000000 20 4 30 10 -1
   1: 000080FE00000000FF005002070000FD:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7 1 0000000000000000 100 0 0 10 0
   2: 00000000000000000000000001000000:D431 00000000000000000000000001000000:1F90 01 00000000:00000000 00:00000000 00000000     0        0 62000 1 0000000000000000 20 4 30 10 -1
`;

test('addresses decode in host byte order; ports read the same either way', () => {
  assert.deepEqual(parseProcAddress('0100007F:1F90', true), { address: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseProcAddress('7F000001:1F90', false), { address: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseProcAddress('00000000000000000000000001000000:D431', true), { address: '::1', port: 54321 });
  assert.deepEqual(parseProcAddress('0000000000000000FFFF00000100007F:0050', true), { address: '::ffff:127.0.0.1', port: 80 });
  assert.equal(parseProcAddress('0100007F:1F9', true), undefined);
  assert.equal(parseProcAddress('0100007G:1F90', true), undefined);
  assert.equal(encodeProcAddress({ address: '127.81.1.101', port: 43210 }, 4, true), '6501517F:A8CA');
  assert.equal(encodeProcAddress({ address: '127.81.1.101', port: 43210 }, 4, false), '7F510165:A8CA');
  assert.equal(encodeProcAddress({ address: '::ffff:127.81.1.101', port: 43210 }, 6, true), '0000000000000000FFFF00006501517F:A8CA');
  assert.equal(encodeProcAddress({ address: '::1', port: 1 }, 4, true), undefined, 'an IPv6 address has no IPv4 row');
  assert.equal(unmapIpv4('::ffff:10.0.0.1'), '10.0.0.1');
  assert.equal(unmapIpv4('fd00::1'), 'fd00::1');
});

test('ipv6Bytes expands every literal form and refuses the rest', () => {
  const hex = (a: string) => ipv6Bytes(a)?.map((b) => b.toString(16).padStart(2, '0')).join('');
  assert.equal(hex('::1'), '00000000000000000000000000000001');
  assert.equal(hex('fd00::7'), 'fd000000000000000000000000000007');
  assert.equal(hex('::ffff:10.0.0.1'), '00000000000000000000ffff0a000001');
  assert.equal(hex('1:2:3:4:5:6:7:8'), '00010002000300040005000600070008');
  for (const bad of ['1::2::3', '1:2:3', 'fd00::g', '1:2:3:4:5:6:7:8:9', '::ffff:300.0.0.1']) assert.equal(ipv6Bytes(bad), undefined, bad);
});

test('the client row is found by both ends: uid and inode of the app, not the agent side or a TIME_WAIT row', () => {
  const row = findSocketRow(TCP, 4, { address: '127.81.1.101', port: 43210 }, { address: '127.81.1.11', port: 15001 }, true);
  assert.deepEqual(row, { localAddress: '127.81.1.101', localPort: 43210, remoteAddress: '127.81.1.11', remotePort: 15001, state: 1, uid: 65534, inode: 51877 });
  // The agent's socket of the same connection has the ends swapped: not the client's row.
  assert.equal(findSocketRow(TCP, 4, { address: '127.81.1.11', port: 15001 }, { address: '127.81.1.101', port: 43210 }, true)?.uid, 0);
  const closed = findSocketRow(TCP, 4, { address: '127.81.1.101', port: 43211 }, { address: '127.81.1.11', port: 15001 }, true);
  assert.equal(closed?.inode, 0);
  assert.equal(closed?.state, 6);
  assert.equal(findSocketRow(TCP, 4, { address: '127.81.1.102', port: 43210 }, { address: '127.81.1.11', port: 15001 }, true), undefined);
  // A dual-stack client socket talking IPv4 sits in tcp6, v4-mapped.
  const mapped = findSocketRow(TCP6, 6, { address: '127.81.1.101', port: 43212 }, { address: '::ffff:127.81.1.11', port: 15001 }, true);
  assert.equal(mapped?.uid, 1001);
  assert.equal(mapped?.inode, 61000);
  assert.equal(findSocketRow(TCP6, 6, { address: '::1', port: 54321 }, { address: '::1', port: 8080 }, true)?.inode, 62000);
  assert.equal(parseProcNetTcpLine(TCP.split('\n')[0]!, true), undefined, 'the header is not a row');
});

/** Prints a row as the kernel's tcp4_seq_show / tcp6_seq_show do. */
function kernelLine(sl: number, local: string, remote: string, state: number, uid: number, inode: number): string {
  return `${String(sl).padStart(4)}: ${local} ${remote} ${state.toString(16).toUpperCase().padStart(2, '0')} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 20 4 30 10 -1`;
}

test('property: any printed row parses back to its fields, in either byte order, v4 and v6', () => {
  const v4 = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((b) => b.join('.'));
  const v6 = fc.array(fc.nat(0xffff), { minLength: 8, maxLength: 8 }).map((g) => g.map((x) => x.toString(16)).join(':'));
  const end = (addr: fc.Arbitrary<string>) => fc.record({ address: addr, port: fc.nat(65535) });
  fc.assert(
    fc.property(
      fc.boolean(),
      fc.oneof(fc.tuple(fc.constant(4 as const), end(v4), end(v4)), fc.tuple(fc.constant(6 as const), end(v6), end(v6))),
      fc.nat(9999),
      fc.integer({ min: 1, max: 12 }),
      fc.nat(4294967294),
      fc.nat(2 ** 31),
      (le, [family, a, b], sl, state, uid, inode) => {
        const line = kernelLine(sl, encodeProcAddress(a, family, le)!, encodeProcAddress(b, family, le)!, state, uid, inode);
        const row = parseProcNetTcpLine(line, le);
        assert.ok(row, line);
        // Decoded addresses encode back to the same text, whatever spelling the literal had.
        assert.equal(encodeProcAddress({ address: row.localAddress, port: row.localPort }, family, le), encodeProcAddress(a, family, le));
        assert.equal(encodeProcAddress({ address: row.remoteAddress, port: row.remotePort }, family, le), encodeProcAddress(b, family, le));
        assert.deepEqual([row.localPort, row.remotePort, row.state, row.uid, row.inode], [a.port, b.port, state, uid, inode]);
        const text = `  sl  local_address rem_address\n${kernelLine(0, encodeProcAddress(b, family, le)!, encodeProcAddress(a, family, le)!, 1, 0, 1)}\n${line}\n`;
        assert.deepEqual(findSocketRow(text, family, a, b, le), row);
      },
    ),
    { interruptAfterTimeLimit: 2000, numRuns: 2000 },
  );
});

test('property: garbage never throws', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), fc.boolean(), (s, le) => {
      parseProcNetTcpLine(s, le);
      parseProcAddress(s, le);
    }),
    { interruptAfterTimeLimit: 1000 },
  );
});
