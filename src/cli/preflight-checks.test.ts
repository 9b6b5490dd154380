// `entente check` and `entente status` as pure functions of what a controller
// said: each failure is named with a hint, a healthy region passes clean.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { expiryWarnThresholdMs, formatChecks, runChecks, type StatusView } from './preflight-checks.js';
import { formatStatus } from './status-commands.js';

const NOW = Date.parse('2026-12-03T12:00:00Z');
const HOUR = 3_600_000;

function healthy(): StatusView {
  return {
    region: 'eu',
    version: '1.2.3',
    health: { healthy: true, exportedServices: { healthy: 2, total: 2 } },
    policy: { source: '/etc/entente/resources', ok: true, configPushed: true },
    nodes: [
      { node: 'eu-node-1', kind: 'agent', connected: true },
      { node: 'eu-gw', kind: 'gateway', connected: true },
    ],
    peers: [{ region: 'us', reachable: true, lastSuccessAt: new Date(NOW - 1000).toISOString(), ageMs: 2000, link: { reachable: true, rttMs: 3.2 } }],
    expiry: [
      { kind: 'ca', subject: 'eu CA', notAfter: new Date(NOW + 300 * 24 * HOUR).toISOString(), expiresInMs: 300 * 24 * HOUR, lifetimeMs: 365 * 24 * HOUR },
      // An hour-long serving certificate at 40 minutes left is normal.
      { kind: 'serving', subject: 'controller serving certificate', notAfter: new Date(NOW + 40 * 60_000).toISOString(), expiresInMs: 40 * 60_000, lifetimeMs: HOUR },
    ],
  };
}

const byName = (s: StatusView, name: string, drift?: Parameters<typeof runChecks>[2]) => runChecks(s, '1.2.3', drift, NOW).find((r) => r.name === name);

describe('entente check', () => {
  it('passes a healthy region with no warning and no hint', () => {
    const results = runChecks(healthy(), '1.2.3', { drift: false, differing: [] }, NOW);
    assert.deepEqual(
      results.filter((r) => r.outcome !== 'ok'),
      [],
    );
    assert.ok(results.every((r) => r.hint === undefined));
    assert.match(formatChecks(results), /all checks passed\n$/);
    assert.ok(results.some((r) => r.name === 'peer us is reachable'));
  });

  it('fails a cut-off peer with how long and the last error, and hints at the path', () => {
    const s = healthy();
    s.peers = [{ region: 'us', reachable: false, lastSuccessAt: new Date(NOW - 90_000).toISOString(), lastError: 'connect ECONNREFUSED', relays: [{ via: 'ap' }] }];
    const r = byName(s, 'peer us is reachable');
    assert.equal(r?.outcome, 'fail');
    assert.match(r!.detail, /unreachable for 90 s \(last error: connect ECONNREFUSED\)/);
    assert.match(r!.hint!, /through ap/);
    const text = formatChecks(runChecks(s, '1.2.3', undefined, NOW));
    assert.match(text, /× FAIL {2}peer us is reachable/);
    assert.match(text, /1 check failed/);
  });

  it('a relay-only peer is not a failure', () => {
    const s = healthy();
    s.peers = [{ region: 'ap', relayOnly: true }];
    assert.equal(byName(s, 'peer ap is reachable')?.outcome, 'ok');
  });

  it('stale state warns, expired state fails', () => {
    const s = healthy();
    s.peers = [{ region: 'us', reachable: true, stale: true, ageMs: 200_000 }];
    assert.equal(byName(s, 'state of us is fresh')?.outcome, 'warn');
    s.peers = [{ region: 'us', reachable: true, stale: true, expired: true }];
    assert.equal(byName(s, 'state of us is fresh')?.outcome, 'fail');
  });

  it('names the disconnected agents and a missing gateway', () => {
    const s = healthy();
    s.nodes = [
      { node: 'eu-node-1', kind: 'agent', connected: true },
      { node: 'eu-node-2', kind: 'agent', connected: false },
    ];
    assert.match(byName(s, 'agents are connected')!.detail, /1 of 2 not connected: eu-node-2/);
    assert.equal(byName(s, 'gateways are connected')?.outcome, 'fail');
  });

  it('no policy in force fails; a rejected set warns', () => {
    const s = healthy();
    s.policy = { source: 'none' };
    assert.equal(byName(s, 'policy is in force')?.outcome, 'fail');
    s.policy = { source: '/r', ok: false, summary: 'bad.yaml:3' };
    assert.match(byName(s, 'policy is in force')!.detail, /last good set: bad\.yaml:3/);
  });

  it('warns on version skew and drift', () => {
    assert.equal(runChecks(healthy(), '9.9.9', undefined, NOW).find((r) => r.name.startsWith('client and controller'))?.outcome, 'warn');
    assert.match(byName(healthy(), 'policy is the same in every region', { drift: true, differing: [{ resource: 'x' }, { resource: 'y' }] })!.detail, /2 resources differ/);
  });

  it('judges expiry against the lifetime for short-lived certificates', () => {
    assert.equal(expiryWarnThresholdMs(HOUR), HOUR / 4);
    assert.equal(expiryWarnThresholdMs(365 * 24 * HOUR), 24 * HOUR);
    assert.equal(expiryWarnThresholdMs(undefined), 24 * HOUR);
    const s = healthy();
    s.expiry = [
      { kind: 'serving', subject: 'controller serving certificate', notAfter: '', expiresInMs: 5 * 60_000, lifetimeMs: HOUR },
      { kind: 'bundle', subject: 'bundle of us', notAfter: '2026-12-01T00:00:00.000Z', expiresInMs: -1000, lifetimeMs: HOUR },
      { kind: 'ca', subject: 'eu CA', notAfter: '', expiresInMs: 10 * HOUR, lifetimeMs: 365 * 24 * HOUR },
    ];
    assert.equal(byName(s, 'controller serving certificate is valid')?.outcome, 'warn');
    assert.equal(byName(s, 'bundle of us is valid')?.outcome, 'fail');
    assert.match(byName(s, 'bundle of us is valid')!.detail, /expired at 2026-12-01/);
    assert.equal(byName(s, 'eu CA is valid')?.outcome, 'warn');
  });
});

describe('entente status', () => {
  it('draws one screen: region, nodes, a row per peer, expiry', () => {
    const s = healthy();
    s.peers!.push({ region: 'ap', reachable: false, stale: true, ageMs: 150_000, link: { reachable: false }, relays: [{ via: 'us' }], lastError: 'timeout' });
    const text = formatStatus({ ...s, configVersion: 7 }, { drift: false }, false);
    assert.match(text, /^region eu {3}entente 1\.2\.3 {3}config version 7 {3}healthy/);
    assert.match(text, /agents 1\/1 connected {3}gateways 1\/1 connected/);
    assert.match(text, /\n {2}us +reachable +up +3ms +- +fresh +2s/);
    assert.match(text, /\n {2}ap +UNREACHABLE +CUT +- +us +stale +3m/);
    assert.doesNotMatch(text, /timeout/, 'the last error is for -o wide');
    assert.match(formatStatus(s, undefined, true), /timeout/);
    assert.match(text, /eu CA +in 300d/);
  });
});
