// The speaker over real TCP against scripted peers on 127.0.0.1: several
// peers at once, withdrawal, a malformed UPDATE answered with the right
// NOTIFICATION, a refused hold time, and re-announcement after resets.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { silentLogger } from '../../core/log.js';
import { systemClock } from '../clock.js';
import { BgpSpeaker } from './bgp-speaker.js';
import { decodeBody, encodeMessage, readFrame } from './message-codec.js';
import type { BgpMessage, OpenMessage } from './messages.js';
import { parsePrefix, formatPrefix } from './prefix.js';
import { eventually } from '../../core/eventually.js';

const CTX = { fourOctetAs: true };

/** A scripted BGP peer: answers OPEN, records what it receives, can misbehave on request. */
class ScriptedPeer {
  readonly received: BgpMessage[] = [];
  connections = 0;
  socket: Socket | undefined;
  holdTime = 3;
  private server: Server;
  constructor() {
    this.server = createServer((s) => this.accept(s));
  }
  async listen(): Promise<number> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return (this.server.address() as AddressInfo).port;
  }
  private accept(s: Socket): void {
    this.connections++;
    this.socket = s;
    let rx = Buffer.alloc(0);
    s.on('error', () => undefined);
    s.on('data', (d: Buffer) => {
      rx = Buffer.concat([rx, d]);
      while (true) {
        const f = readFrame(rx);
        if (f.kind !== 'frame') return;
        rx = rx.subarray(f.length);
        const m = decodeBody(f.type, f.body, CTX);
        if (m.kind !== 'ok') continue;
        this.received.push(m.value);
        if (m.value.type === 'open') {
          const open: OpenMessage = { type: 'open', version: 4, myAs: 65000, holdTime: this.holdTime, bgpId: '192.0.2.1', capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: 65000, unknown: [] } };
          s.write(encodeMessage(open, CTX));
          s.write(encodeMessage({ type: 'keepalive' }, CTX));
        } else if (m.value.type === 'keepalive') {
          s.write(encodeMessage({ type: 'keepalive' }, CTX));
        }
      }
    });
  }
  announced(): string[] {
    const have = new Set<string>();
    for (const m of this.received) {
      if (m.type !== 'update') continue;
      for (const p of m.withdrawn) have.delete(formatPrefix(p));
      for (const p of m.nlri) have.add(formatPrefix(p));
    }
    return [...have].sort();
  }
  notifications(): [number, number][] {
    return this.received.filter((m) => m.type === 'notification').map((m) => [(m as { code: number }).code, (m as { subcode: number }).subcode]);
  }
  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

describe('BGP speaker over TCP', () => {
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  async function start(n: number) {
    const peers = Array.from({ length: n }, () => new ScriptedPeer());
    const ports = await Promise.all(peers.map((p) => p.listen()));
    const speaker = new BgpSpeaker(ports.map((port, i) => ({
      name: `p${i}`, endpoint: { host: '127.0.0.1', port },
      fsm: { localAs: 65001, peerAs: 65000, bgpId: '192.0.2.2', holdTime: 3, families: [4] as (4 | 6)[], connectTimeoutMs: 2000, backoffMinMs: 50, backoffMaxMs: 400 },
    })), systemClock, silentLogger());
    cleanups.push(async () => {
      await speaker.stop();
      for (const p of peers) await p.close();
    });
    speaker.start();
    return { peers, speaker };
  }
  const route = { prefix: parsePrefix('203.0.113.10/32'), origin: 0 as const, prepend: 1, med: 20, communities: [] };

  it('announces to several peers at once, sends End-of-RIB, and withdraws', async () => {
    const { peers, speaker } = await start(2);
    await speaker.setRoutes([route]);
    await eventually(() => peers.every((p) => p.announced().includes('203.0.113.10/32')), { what: 'both peers to have the route' });
    for (const p of peers) {
      const u = p.received.find((m) => m.type === 'update' && m.nlri.length > 0);
      assert.deepEqual(u?.type === 'update' && u.attributes.asPath, [{ type: 2, asns: [65001, 65001] }]);
      assert.ok(p.received.some((m) => m.type === 'update' && m.nlri.length === 0 && m.withdrawn.length === 0 && Object.keys(m.attributes).length === 0), 'End-of-RIB');
    }
    await speaker.setRoutes([]);
    await eventually(() => peers.every((p) => p.announced().length === 0), { what: 'the withdrawal at both peers' });
    assert.deepEqual(speaker.status().map((s) => s.state), ['established', 'established']);
  });

  it('answers a malformed UPDATE with NOTIFICATION 3/6, then reconnects and re-announces', async () => {
    const { peers: [p], speaker } = await start(1);
    await speaker.setRoutes([route]);
    await eventually(() => p!.announced().length === 1, { what: 'the route' });
    // ORIGIN value 3 is invalid (RFC 4271 §6.3).
    p!.socket!.write(Buffer.from(`${'ff'.repeat(16)}001b02 0000 0004 40010103`.replace(/ /g, ''), 'hex'));
    await eventually(() => p!.notifications().some(([c, s]) => c === 3 && s === 6), { what: 'NOTIFICATION 3/6' });
    await eventually(() => p!.connections === 2 && speaker.status()[0]!.state === 'established', { what: 'the second session' });
    await eventually(() => p!.received.filter((m) => m.type === 'update' && m.nlri.length > 0).length === 2, { what: 're-announcement' });
    assert.match(speaker.status()[0]!.lastError ?? '', /invalid ORIGIN/);
  });

  it('refuses a peer proposing a 2 s hold time with NOTIFICATION 2/6', async () => {
    const { peers: [p], speaker } = await start(1);
    p!.holdTime = 2;
    await eventually(() => p!.notifications().some(([c, s]) => c === 2 && s === 6), { what: 'NOTIFICATION 2/6' });
    assert.notEqual(speaker.status()[0]!.state, 'established');
  });

  it('reconnects with backoff after the peer drops the connection and announces everything again', async () => {
    const { peers: [p], speaker } = await start(1);
    await speaker.setRoutes([route, { ...route, prefix: parsePrefix('203.0.113.11/32') }]);
    await eventually(() => p!.announced().length === 2, { what: 'two routes' });
    p!.socket!.destroy();
    p!.received.length = 0;
    await eventually(() => p!.connections === 2 && p!.announced().length === 2, { what: 're-announcement on the new session' });
    assert.equal(speaker.status()[0]!.establishedCount, 2);
  });

  it('stop sends Cease / administrative shutdown after withdrawing', async () => {
    const { peers: [p], speaker } = await start(1);
    await speaker.setRoutes([route]);
    await eventually(() => p!.announced().length === 1, { what: 'the route' });
    await speaker.stop();
    await eventually(() => p!.notifications().some(([c, s]) => c === 6 && s === 2), { what: 'Cease 6/2' });
    assert.deepEqual(p!.announced(), [], 'withdrawn before the Cease');
  });
});
