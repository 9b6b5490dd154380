// WAN link: RTT through the link is about twice the one-way latency, order holds
// under jitter, backpressure bounds the queue, partitions behave, close cleans up.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { startWanLink, releaseTime, type WanLink } from './wan-link.js';
import { eventually } from '../core/eventually.js';

interface Target { server: Server; port: number; sockets: Set<Socket>; accepted: number; close(): Promise<void> }

/** An echo server that answers a half-close with "bye" before closing its side. */
async function startEchoTarget(opts: { paused?: boolean } = {}): Promise<Target> {
  const sockets = new Set<Socket>();
  const t: Partial<Target> = { sockets, accepted: 0 };
  const server = createServer({ allowHalfOpen: true }, (s) => {
    t.accepted!++;
    sockets.add(s);
    s.setNoDelay(true);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    if (opts.paused) { s.pause(); return; }
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('bye'));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(t, {
    server,
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => { for (const s of sockets) s.destroy(); server.close(() => resolve()); }),
  }) as Target;
}

function open(link: WanLink): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port: link.address.port }, () => resolve(s));
    s.setNoDelay(true);
    s.once('error', reject);
  });
}

/** Writes `text` and resolves with the milliseconds until the same number of bytes came back. */
function roundTrip(s: Socket, text: string, timeoutMs = 60_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    let got = '';
    const timer = setTimeout(() => { s.off('data', onData); reject(new Error(`no echo within ${timeoutMs} ms`)); }, timeoutMs);
    const onData = (d: Buffer): void => {
      got += d.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        s.off('data', onData);
        assert.equal(got, text);
        resolve(performance.now() - start);
      }
    };
    s.on('data', onData);
    s.write(text);
  });
}

describe('releaseTime', () => {
  it('property: release times are non-decreasing and within latency ± jitter of arrival (or after the previous)', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.double({ min: 0, max: 0.999999, noNaN: true })), { maxLength: 200 }),
      fc.integer({ min: 0, max: 200 }), fc.integer({ min: 0, max: 100 }), (steps, latency, jitter) => {
        let now = 0;
        let prev = 0;
        for (const [dt, r] of steps) {
          now += dt;
          const at = releaseTime(prev, now, latency, jitter, () => r);
          assert.ok(at >= prev);
          assert.ok(at >= now + Math.max(0, latency - jitter) - 1e-9);
          assert.ok(at === prev || at <= now + latency + jitter + 1e-9);
          prev = at;
        }
      }), { numRuns: 200, interruptAfterTimeLimit: 3000 });
  });
});

describe('WAN link', () => {
  let target: Target;
  const links: WanLink[] = [];
  const sockets: Socket[] = [];
  before(async () => { target = await startEchoTarget(); });
  after(async () => {
    for (const s of sockets) s.destroy();
    await Promise.all(links.map((l) => l.close()));
    await target.close();
  });
  const newLink = async (latencyMs: number, jitterMs = 0, extra: { maxQueuedBytes?: number; random?: () => number; port?: number } = {}) => {
    const link = await startWanLink({ listen: { host: '127.0.0.1', port: 0 }, target: { host: '127.0.0.1', port: extra.port ?? target.port }, latencyMs, jitterMs, ...extra });
    links.push(link);
    return link;
  };
  const track = (s: Socket): Socket => { sockets.push(s); s.on('error', () => undefined); return s; };

  it('first exchange costs the emulated handshake (≈4× latency), later ones ≈2× latency', async () => {
    const L = 40;
    const link = await newLink(L);
    const t0 = performance.now();
    const s = track(await open(link));
    await roundTrip(s, 'first');
    const first = performance.now() - t0;
    assert.ok(first >= 4 * L - 2 && first < 4 * L + 400, `first exchange took ${first.toFixed(1)} ms`);
    for (let i = 0; i < 5; i++) {
      const rtt = await roundTrip(s, `ping ${i}`);
      assert.ok(rtt >= 2 * L - 1 && rtt < 2 * L + 200, `RTT ${rtt.toFixed(1)} ms for one-way ${L} ms`);
    }
    link.setLatency(80);
    const slower = await roundTrip(s, 'after change');
    assert.ok(slower >= 160 - 1 && slower < 160 + 200, `RTT ${slower.toFixed(1)} ms after setLatency(80)`);
    assert.equal(link.stats().latencyMs, 80);
  });

  it('keeps byte order under heavy jitter, in both directions', async () => {
    let flip = 0;
    // Alternating extreme jitter draws would reorder chunks if release times could decrease.
    const link = await newLink(5, 5, { random: () => { flip ^= 1; return flip ? 0.999 : 0; } });
    const s = track(await open(link));
    const parts = Array.from({ length: 400 }, (_, i) => `<${i}>`);
    const expected = parts.join('');
    let got = '';
    const done = new Promise<void>((resolve) => s.on('data', (d: Buffer) => { got += d.toString(); if (got.length >= expected.length) resolve(); }));
    for (const p of parts) {
      s.write(p);
      if (Number(p.slice(1, -1)) % 20 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await done;
    assert.equal(got, expected);
    assert.ok(link.stats().bytes.forward >= expected.length && link.stats().bytes.backward >= expected.length);
  });

  it('passes a half-close through and then closes the connection', async () => {
    const link = await newLink(5);
    const s = track(await open(link));
    const chunks: Buffer[] = [];
    s.on('data', (d: Buffer) => chunks.push(d));
    const closed = new Promise((resolve) => s.on('close', resolve));
    s.end('last words');
    await closed;
    assert.equal(Buffer.concat(chunks).toString(), 'last wordsbye');
    await eventually(() => link.stats().active === 0, { what: 'connection forgotten' });
  });

  it('bounds what it queues when the target does not read (backpressure)', async () => {
    const slow = await startEchoTarget({ paused: true });
    try {
      const max = 256 * 1024;
      const link = await newLink(1, 0, { maxQueuedBytes: max, port: slow.port });
      const s = track(await open(link));
      const block = randomBytes(256 * 1024);
      let peak = 0;
      let offered = 0;
      // Offer data until the sender's own buffer backs up: kernel buffers on loopback absorb several MiB first.
      while (s.writableLength < 2 * 1024 * 1024) {
        assert.ok(offered < 96 * 1024 * 1024, 'the sender never felt backpressure');
        s.write(block);
        offered += block.length;
        peak = Math.max(peak, link.stats().queuedBytes);
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      for (let i = 0; i < 20; i++) { // the queue stays bounded while the sender keeps pushing
        peak = Math.max(peak, link.stats().queuedBytes);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      assert.ok(peak <= max + 2 * 64 * 1024, `queued peaked at ${peak} bytes`);
      assert.ok(link.stats().bytes.forward < offered, 'a paused reader cannot have received everything');
      // Let the target read: everything arrives, in full.
      let received = 0;
      const [inner] = [...slow.sockets];
      inner!.on('data', (d: Buffer) => { received += d.length; });
      inner!.resume();
      await eventually(() => received === offered, { what: `all ${offered} bytes delivered (got ${received})`, timeoutMs: 60_000 });
    } finally {
      await slow.close();
    }
  });

  it('blackhole: accepts but forwards nothing; existing connections stall, and resume when healed', async () => {
    const L = 5;
    const link = await newLink(L);
    const s = track(await open(link));
    await roundTrip(s, 'before');
    const acceptedBefore = target.accepted;
    link.setPartitioned('blackhole');
    const stalled = roundTrip(s, 'during', 30_000);
    const fresh = track(await open(link)); // the TCP connect itself still succeeds locally
    fresh.write('new');
    await new Promise((resolve) => setTimeout(resolve, 300)); // absence check: nothing may pass in this window
    assert.equal(target.accepted, acceptedBefore, 'no new connection reached the target during the blackhole');
    assert.equal(link.stats().partitioned, 'blackhole');
    let freshReply = '';
    fresh.on('data', (d: Buffer) => { freshReply += d.toString(); });
    link.setPartitioned(false);
    const rtt = await stalled;
    assert.ok(rtt >= 300, `reply must wait for the heal (got ${rtt.toFixed(0)} ms)`);
    await eventually(() => freshReply === 'new', { what: 'the connection opened during the blackhole works after healing' });
  });

  it('reset: existing and new connections are reset; healing restores service', async () => {
    const link = await newLink(5);
    const s = track(await open(link));
    await roundTrip(s, 'before');
    const resetSeen = new Promise<string>((resolve) => { s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message)); s.on('close', () => resolve('closed')); });
    link.setPartitioned('reset');
    assert.equal(await resetSeen, 'ECONNRESET');
    const fresh = connect({ host: '127.0.0.1', port: link.address.port });
    track(fresh);
    const freshOutcome = await new Promise<string>((resolve) => {
      fresh.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
      fresh.on('data', () => resolve('data'));
      fresh.on('connect', () => fresh.write('x'));
    });
    assert.equal(freshOutcome, 'ECONNRESET');
    await eventually(() => link.stats().active === 0, { what: 'reset connections forgotten' });
    link.setPartitioned(false);
    const again = track(await open(link));
    await roundTrip(again, 'after');
  });

  it('resets the client when the target refuses the connection', async () => {
    const gone = await startEchoTarget();
    const port = gone.port;
    await gone.close();
    const link = await newLink(5, 0, { port });
    const s = track(await open(link));
    const outcome = await new Promise<string>((resolve) => { s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? '')); s.on('close', () => resolve('closed')); });
    assert.equal(outcome, 'ECONNRESET');
  });

  it('close() resets open connections and stops listening', async () => {
    const link = await newLink(5);
    const s = track(await open(link));
    await roundTrip(s, 'x');
    const closed = new Promise((resolve) => s.on('close', resolve));
    await link.close();
    await closed;
    assert.equal(link.stats().active, 0);
    await assert.rejects(open(link), /ECONNREFUSED/);
    assert.throws(() => link.setLatency(-1), /not valid/);
  });
});
