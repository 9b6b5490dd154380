// WAN link: RTT through the link is about twice the one-way latency, order holds
// under jitter, backpressure bounds the queue, partitions behave, close cleans up,
// loss shows as retransmission delay, bandwidth serializes each direction.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { startWanLink, releaseTime, scheduleChunk, retransmitPenaltyMs, MIN_RTO_MS, SYN_RTO_MS, type WanLink, type LinkShape } from './wan-link.js';
import { EntenteError } from '../core/errors.js';
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

describe('scheduleChunk', () => {
  const shape = (s: Partial<LinkShape>): LinkShape => ({ latencyMs: 10, jitterMs: 0, loss: 0, bandwidthBps: undefined, ...s });
  const never = (): number => { throw new Error('random must not be drawn'); };
  const table: Array<{ name: string; prev: number; wire: number; arrival: number; bytes: number; shape: LinkShape; random: () => number; release: number; wireFreeAt: number }> = [
    { name: 'latency only, no draws', prev: 0, wire: 0, arrival: 100, bytes: 1000, shape: shape({}), random: never, release: 110, wireFreeAt: 0 },
    { name: 'kept behind the previous release', prev: 500, wire: 0, arrival: 100, bytes: 1000, shape: shape({}), random: never, release: 500, wireFreeAt: 0 },
    { name: 'bandwidth: serialization delay from arrival on an idle wire', prev: 0, wire: 50, arrival: 100, bytes: 1000, shape: shape({ bandwidthBps: 10_000 }), random: never, release: 100 + 100 + 10, wireFreeAt: 200 },
    { name: 'bandwidth: waits for the busy wire', prev: 0, wire: 300, arrival: 100, bytes: 1000, shape: shape({ bandwidthBps: 10_000 }), random: never, release: 300 + 100 + 10, wireFreeAt: 400 },
    { name: 'bandwidth: an end (0 bytes) waits for the wire but adds nothing', prev: 0, wire: 300, arrival: 100, bytes: 0, shape: shape({ bandwidthBps: 10_000 }), random: never, release: 310, wireFreeAt: 300 },
    { name: 'loss: a draw below loss delays by the penalty', prev: 0, wire: 0, arrival: 100, bytes: 10, shape: shape({ loss: 0.3 }), random: () => 0.29, release: 100 + MIN_RTO_MS + 20 + 10, wireFreeAt: 0 },
    { name: 'loss: a draw at or above loss is not lost', prev: 0, wire: 0, arrival: 100, bytes: 10, shape: shape({ loss: 0.3 }), random: () => 0.3, release: 110, wireFreeAt: 0 },
    { name: 'loss 1 always loses', prev: 0, wire: 0, arrival: 0, bytes: 10, shape: shape({ loss: 1, latencyMs: 150 }), random: () => 0.999999, release: 200 + 300 + 150, wireFreeAt: 0 },
    { name: 'loss does not hold the wire', prev: 0, wire: 0, arrival: 0, bytes: 1000, shape: shape({ loss: 1, bandwidthBps: 1000 }), random: () => 0, release: 1000 + 220 + 10, wireFreeAt: 1000 },
  ];
  for (const row of table) {
    it(row.name, () => {
      assert.deepEqual(scheduleChunk(row.prev, row.wire, row.arrival, row.bytes, row.shape, row.random), { release: row.release, wireFreeAt: row.wireFreeAt });
    });
  }

  it('jitter draws come after the loss draw', () => {
    const draws = [0.1, 1]; // lost, then the maximum jitter
    const r = scheduleChunk(0, 0, 0, 1, shape({ loss: 0.5, jitterMs: 5 }), () => draws.shift()!);
    assert.equal(r.release, retransmitPenaltyMs(10) + 15);
    assert.equal(draws.length, 0);
  });

  it('property: release times are non-decreasing, and a direction never carries more than its bandwidth', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 50 }), fc.integer({ min: 0, max: 65536 }), fc.double({ min: 0, max: 0.999999, noNaN: true })), { maxLength: 200 }),
      fc.integer({ min: 1, max: 1_000_000 }), fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 100 }), (steps, bw, loss, latency) => {
        const sh = shape({ latencyMs: latency, loss, bandwidthBps: bw });
        let now = 0;
        let prev = 0;
        let wire = 0;
        let total = 0;
        for (const [dt, bytes, r] of steps) {
          now += dt;
          total += bytes;
          const s = scheduleChunk(prev, wire, now, bytes, sh, () => r);
          assert.ok(s.release >= prev && s.wireFreeAt >= wire);
          assert.ok(s.release >= s.wireFreeAt + latency - 1e-6);
          assert.ok(s.wireFreeAt >= ((total * 1000) / bw) * (1 - 1e-9), 'the wire carried bytes faster than its bandwidth');
          prev = s.release;
          wire = s.wireFreeAt;
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
  const newLink = async (latencyMs: number, jitterMs = 0, extra: { maxQueuedBytes?: number; random?: () => number; port?: number; loss?: number; bandwidthBps?: number } = {}) => {
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

  it('loss=1: the handshake costs the SYN timeout and every chunk the retransmission penalty, each way', async () => {
    const L = 5;
    const link = await newLink(L, 0, { loss: 1 });
    assert.equal(link.stats().loss, 1);
    const t0 = performance.now();
    const s = track(await open(link));
    await roundTrip(s, 'first');
    const first = performance.now() - t0;
    const penalty = retransmitPenaltyMs(L);
    assert.ok(first >= SYN_RTO_MS + 4 * L + 2 * penalty - 2, `first exchange took ${first.toFixed(1)} ms`);
    for (let i = 0; i < 2; i++) {
      const rtt = await roundTrip(s, `ping ${i}`);
      assert.ok(rtt >= 2 * (L + penalty) - 2, `RTT ${rtt.toFixed(1)} ms with loss=1 (penalty ${penalty} ms each way)`);
    }
    link.setLoss(0);
    assert.equal(link.stats().loss, 0);
    await roundTrip(s, 'after setLoss(0)');
  });

  it('loss=0 with an injected random: nothing is drawn for loss, traffic flows as before', async () => {
    let draws = 0;
    const link = await newLink(5, 0, { loss: 0, random: () => { draws++; return 0; } });
    const s = track(await open(link));
    await roundTrip(s, 'hello');
    await roundTrip(s, 'again');
    assert.equal(draws, 0);
    assert.equal(link.stats().bandwidthBps, undefined);
  });

  it('bandwidth: 200 KB echoed through a 100 KB/s link takes over 1.5 s, and the bytes arrive intact', async () => {
    const link = await newLink(1, 0, { bandwidthBps: 100_000 });
    assert.equal(link.stats().bandwidthBps, 100_000);
    const s = track(await open(link));
    const data = randomBytes(200_000);
    const chunks: Buffer[] = [];
    let got = 0;
    const t0 = performance.now();
    const done = new Promise<void>((resolve) => s.on('data', (d: Buffer) => { chunks.push(d); got += d.length; if (got >= data.length) resolve(); }));
    s.write(data);
    await done;
    const took = performance.now() - t0;
    assert.ok(took >= 1500, `200 KB at 100 KB/s took only ${took.toFixed(0)} ms`);
    assert.ok(Buffer.concat(chunks).equals(data));
    link.setBandwidth(undefined);
    assert.equal(link.stats().bandwidthBps, undefined);
    await roundTrip(s, 'unlimited again');
  });

  it('bandwidth is shared by the connections of a link direction', async () => {
    let received = 0;
    const inner = new Set<Socket>();
    const sink = createServer((c) => { inner.add(c); c.on('data', (d: Buffer) => { received += d.length; }); c.on('error', () => undefined); });
    await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
    try {
      const link = await newLink(1, 0, { bandwidthBps: 100_000, port: (sink.address() as AddressInfo).port });
      const [a, b] = [track(await open(link)), track(await open(link))];
      const t0 = performance.now();
      a.write(randomBytes(100_000));
      b.write(randomBytes(100_000));
      await eventually(() => received === 200_000, { what: `200 KB delivered (got ${received})`, timeoutMs: 30_000, intervalMs: 10 });
      const took = performance.now() - t0;
      // Each connection alone would need ≈ 1 s; sharing 100 KB/s they need ≈ 2 s together.
      assert.ok(took >= 1600, `2 × 100 KB over a shared 100 KB/s took only ${took.toFixed(0)} ms`);
    } finally {
      await new Promise<void>((resolve) => { sink.close(() => resolve()); for (const c of inner) c.destroy(); });
    }
  });

  it('rejects loss outside [0, 1] and non-positive bandwidth, naming the value', async () => {
    const bad = (f: () => unknown, code: string, value: RegExp) => assert.throws(f, (e: unknown) => e instanceof EntenteError && e.code === code && value.test(e.message));
    const link = await newLink(1);
    bad(() => link.setLoss(1.5), 'WAN_LINK_BAD_LOSS', /1\.5.*0 to 1/);
    bad(() => link.setLoss(-0.1), 'WAN_LINK_BAD_LOSS', /-0\.1/);
    bad(() => link.setLoss(NaN), 'WAN_LINK_BAD_LOSS', /NaN/);
    bad(() => link.setBandwidth(0), 'WAN_LINK_BAD_BANDWIDTH', /bandwidth 0 .*positive/);
    bad(() => link.setBandwidth(-5), 'WAN_LINK_BAD_BANDWIDTH', /-5/);
    bad(() => link.setBandwidth(NaN), 'WAN_LINK_BAD_BANDWIDTH', /NaN/);
    assert.equal(link.stats().loss, 0);
    assert.equal(link.stats().bandwidthBps, undefined);
    await assert.rejects(newLink(1, 0, { loss: 2 }), (e: unknown) => e instanceof EntenteError && e.code === 'WAN_LINK_BAD_LOSS');
    await assert.rejects(newLink(1, 0, { bandwidthBps: 0 }), (e: unknown) => e instanceof EntenteError && e.code === 'WAN_LINK_BAD_BANDWIDTH');
  });
});
