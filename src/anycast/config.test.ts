// The config schema: a full example parses into typed values, and bad values
// are reported together, each with its key, the value and what was expected.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse as parseYaml } from 'yaml';
import { parseAnycastConfig } from './config.js';
import { EntenteError } from '../core/errors.js';

const EXAMPLE = `
localAs: 65001
routerId: 192.0.2.2
peers:
  - name: edge1
    address: 192.0.2.1
    remoteAs: 65000
    holdTime: 3s
announce:
  - prefix: 203.0.113.10/32
    med: 10
    prepend: 2
    communities: ["65001:100", no-export]
health:
  interval: 500ms
  fastInterval: 100ms
  rise: 2
  fall: 3
  checks:
    - { type: http, url: "http://127.0.0.1:8080/healthz" }
    - { type: tcp, address: "127.0.0.1:443", timeout: 300ms }
    - { type: controller, url: "http://127.0.0.1:7000/v1/health", minHealthyGateways: 1 }
maintenance: { file: /run/entente/anycast.maintenance, drain: 3s }
status: { listen: "127.0.0.1:0" }
`;

function problems(doc: unknown): string {
  try {
    parseAnycastConfig(doc);
  } catch (err) {
    assert.ok(err instanceof EntenteError);
    assert.equal(err.code, 'BAD_CONFIG');
    return err.message;
  }
  assert.fail('config was accepted');
}

describe('anycast config', () => {
  it('parses a full example into typed values with defaults', () => {
    const c = parseAnycastConfig(parseYaml(EXAMPLE));
    assert.equal(c.peers[0]!.holdTime, 3);
    assert.equal(c.peers[0]!.port, 179);
    assert.deepEqual(c.peers[0]!.reconnect, { min: 1000, max: 30_000 });
    assert.deepEqual(c.announce[0]!.prefix, { family: 4, address: '203.0.113.10', length: 32 });
    assert.deepEqual(c.announce[0]!.communities, [((65001 << 16) | 100) >>> 0, 0xffffff01]);
    assert.equal(c.announce[0]!.origin, 0);
    assert.equal(c.health.interval, 500);
    assert.equal(c.health.checks[1]!.type === 'tcp' && c.health.checks[1]!.timeout, 300);
    assert.equal(c.maintenance?.drain, 3000);
    assert.equal(c.flapGuard.enabled, true);
    assert.deepEqual(c.status.listen, { host: '127.0.0.1', port: 0 });
  });

  const base = parseYaml(EXAMPLE) as Record<string, unknown>;
  const peer = (over: Record<string, unknown>) => ({ ...base, peers: [{ address: '192.0.2.1', remoteAs: 65000, ...over }] });
  const cases: { name: string; doc: unknown; expect: RegExp[] }[] = [
    { name: 'hold time of 2 s', doc: peer({ holdTime: '2s' }), expect: [/peers\[0\]\.holdTime: got "2s"; expected .*RFC 4271 refuses 1-2 s/] },
    { name: 'hold time of 1 s', doc: peer({ holdTime: '1s' }), expect: [/peers\[0\]\.holdTime/] },
    { name: 'AS 0 and a bad address', doc: peer({ remoteAs: 0, address: 'router' }), expect: [/peers\[0\]\.remoteAs: got 0; expected an AS number/, /peers\[0\]\.address: got "router"; expected an IP address/] },
    { name: 'prefix with host bits', doc: { ...base, announce: [{ prefix: '203.0.113.10/24' }] }, expect: [/announce\[0\]\.prefix: got "203.0.113.10\/24"; expected an IP prefix .*host bits/] },
    { name: 'bad community', doc: { ...base, announce: [{ prefix: '203.0.113.10/32', communities: ['65536:1'] }] }, expect: [/announce\[0\]\.communities\[0\]: got "65536:1"; expected a community/] },
    { name: 'bad duration and unknown key', doc: { ...base, health: { interval: '1 sec' }, extra: true }, expect: [/health\.interval: got "1 sec"; expected a duration/, /extra: unknown key "extra"/] },
    { name: 'unknown check type', doc: { ...base, health: { checks: [{ type: 'ping' }] } }, expect: [/health\.checks\[0\]\.type: got "ping"; expected one of "http", "tcp", "controller"/] },
    { name: 'IPv6 prefix over IPv4 session without next hop', doc: { ...base, announce: [{ prefix: '2001:db8:1::/48' }] }, expect: [/announce\[0\]\.nextHop: required; expected an IPv6 next hop/] },
    { name: 'no peers', doc: { ...base, peers: [] }, expect: [/peers: got \[\]; expected at least one peer/] },
  ];
  for (const c of cases) {
    it(`reports ${c.name}`, () => {
      const msg = problems(c.doc);
      for (const re of c.expect) assert.match(msg, re);
    });
  }
});
