// Link reports: bad bodies refused naming the key; per-region summary (any
// gateway reaching → reachable, min RTT and loss, quantized), expiry by TTL,
// non-peer regions dropped, and put() saying whether the summary changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LINK_REPORT_TTL_MS, MAX_LINKS_PER_REPORT, LinkReports, checkLinkReport, quantize, type LinkReport } from './link-reports.js';

const link = (region: string, reachable: boolean | undefined, rttMs?: number, loss = 0): LinkReport['links'][number] =>
  ({ region, address: `10.9.0.1:15443`, ...(reachable !== undefined ? { reachable } : {}), ...(rttMs !== undefined ? { rttMs } : {}), loss });
const PEERS = new Set(['us', 'ap']);

describe('checkLinkReport', () => {
  const bad: Array<[string, unknown, RegExp]> = [
    ['not an object', 'x', /^\(body\): expected/],
    ['no links', {}, /^links: expected/],
    ['a bad region', { links: [link('US_East', true, 10)] }, /^links\.0\.region: expected a region name \(DNS label\)/],
    ['loss 2', { links: [link('us', true, 10, 2)] }, /^links\.0\.loss: expected/],
    ['negative RTT', { links: [link('us', true, -1)] }, /^links\.0\.rttMs: expected/],
    ['too many links', { links: Array.from({ length: MAX_LINKS_PER_REPORT + 1 }, () => link('us', true, 10)) }, /^links: expected/],
    ['reachable not a boolean', { links: [{ region: 'us', address: 'x', reachable: 'yes', loss: 0 }] }, /^links\.0\.reachable: expected/],
  ];
  for (const [what, body, want] of bad) {
    it(`refuses ${what}`, () => {
      const r = checkLinkReport(body);
      assert.equal(r.kind, 'invalid');
      assert.match(r.kind === 'invalid' ? r.message : '', want);
    });
  }
  it('accepts a good report, unknown reachability included', () => {
    const r = checkLinkReport({ links: [link('us', true, 10), link('ap', undefined)] });
    assert.equal(r.kind, 'ok');
  });
  it('accepts the most links allowed', () => {
    assert.equal(checkLinkReport({ links: Array.from({ length: MAX_LINKS_PER_REPORT }, () => link('us', true, 10)) }).kind, 'ok');
  });
});

describe('quantize', () => {
  const table: Array<[Parameters<typeof quantize>[0], unknown]> = [
    [{ region: 'us', reachable: true, rttMs: 12.4, loss: 0.04 }, { region: 'us', reachable: true, rttMs: 10, loss: 0.05 }],
    [{ region: 'us', reachable: true, rttMs: 12.6, loss: 0.024 }, { region: 'us', reachable: true, rttMs: 15, loss: 0 }],
    [{ region: 'us', reachable: true, rttMs: 0.3, loss: 0 }, { region: 'us', reachable: true, rttMs: 5, loss: 0 }],
    [{ region: 'us', reachable: false, rttMs: 80, loss: 1 }, { region: 'us', reachable: false, loss: 1 }],
  ];
  for (const [input, want] of table) it(JSON.stringify(input), () => assert.deepEqual(quantize(input), want));
});

describe('LinkReports', () => {
  const clock = (): { now: () => number; tick: (ms: number) => void } => {
    let t = 0;
    return { now: () => t, tick: (ms) => { t += ms; } };
  };

  it('a region is reachable when any gateway reaches it; min RTT and loss over them', () => {
    const c = clock();
    const r = new LinkReports(c.now);
    r.put('gw-1', { links: [link('us', false, undefined, 1), link('ap', true, 203, 0.2)] }, PEERS);
    r.put('gw-2', { links: [link('us', true, 41, 0.1), link('ap', true, 148, 0.3)] }, PEERS);
    assert.deepEqual(r.summary(), [
      { region: 'ap', reachable: true, rttMs: 150, loss: 0.2 },
      { region: 'us', reachable: true, rttMs: 40, loss: 0.1 },
    ]);
  });

  it('all gateways failing a region: unreachable, no RTT; unknown links say nothing', () => {
    const r = new LinkReports(clock().now);
    r.put('gw-1', { links: [link('us', false, undefined, 1), link('ap', undefined)] }, PEERS);
    r.put('gw-2', { links: [link('us', false, undefined, 0.5)] }, PEERS);
    assert.deepEqual(r.summary(), [{ region: 'us', reachable: false, loss: 0.5 }]);
  });

  it('an RTT reported by an unreachable link is not used', () => {
    const r = new LinkReports(clock().now);
    r.put('gw-1', { links: [link('us', false, 5, 1), link('us', true, 60, 0)] }, PEERS);
    assert.deepEqual(r.summary(), [{ region: 'us', reachable: true, rttMs: 60, loss: 0 }]);
  });

  it('links to regions that are not peers are dropped', () => {
    const r = new LinkReports(clock().now);
    r.put('gw-1', { links: [link('us', true, 10), link('zz', true, 10)] }, PEERS);
    assert.deepEqual(r.summary().map((l) => l.region), ['us']);
    assert.deepEqual(r.gateways()[0]!.links.map((l) => l.region), ['us']);
  });

  it('a report older than LINK_REPORT_TTL_MS is forgotten', () => {
    const c = clock();
    const r = new LinkReports(c.now);
    r.put('gw-1', { links: [link('us', true, 10)] }, PEERS);
    c.tick(1000);
    r.put('gw-2', { links: [link('us', false, undefined, 1)] }, PEERS);
    c.tick(LINK_REPORT_TTL_MS - 1000);
    assert.equal(r.summary()[0]!.reachable, true, 'at the TTL, still kept');
    c.tick(1);
    assert.deepEqual(r.summary(), [{ region: 'us', reachable: false, loss: 1 }], 'gw-1 is forgotten; gw-2 is not yet');
    assert.deepEqual(r.gateways().map((g) => g.gateway), ['gw-2']);
    c.tick(1000);
    assert.deepEqual(r.summary(), []);
  });

  it('a new report from a gateway replaces its last one', () => {
    const r = new LinkReports(clock().now);
    r.put('gw-1', { links: [link('us', true, 10)] }, PEERS);
    r.put('gw-1', { links: [link('us', false, undefined, 1)] }, PEERS);
    assert.equal(r.summary()[0]!.reachable, false);
  });

  it('put() says whether the summary changed, not whether the report did', () => {
    const r = new LinkReports(clock().now);
    assert.equal(r.put('gw-1', { links: [link('us', true, 41)] }, PEERS), true, 'first report');
    assert.equal(r.put('gw-1', { links: [link('us', true, 42)] }, PEERS), false, 'jitter within 5 ms is no change');
    assert.equal(r.put('gw-2', { links: [link('us', false, undefined, 1)] }, PEERS), false, 'another gateway failing changes nothing while gw-1 reaches');
    assert.equal(r.put('gw-1', { links: [link('us', false, undefined, 1)] }, PEERS), true, 'now every gateway fails');
    assert.equal(r.put('gw-1', { links: [link('zz', true, 10)] }, PEERS), false, 'a non-peer link is dropped: us still from gw-2');
  });

  it('loss near a rounding edge does not flip what is published; a real move, or a return to 0, does', () => {
    const r = new LinkReports(clock().now);
    const loss = (l: number): number => {
      r.put('gw-1', { links: [link('us', true, 40, l)] }, PEERS);
      return r.summary()[0]!.loss;
    };
    assert.equal(loss(0.024), 0);
    assert.equal(loss(0.026), 0, '2.6% rounds to 0.05, but one step from 0 is held');
    assert.equal(loss(0.024), 0);
    assert.equal(loss(0.11), 0.1, 'two steps: published');
    assert.equal(loss(0.074), 0.1, '0.05 is one step back: held');
    assert.equal(loss(0.001), 0, 'back to no loss: published at once');
    assert.equal(loss(1), 1);
  });
});
