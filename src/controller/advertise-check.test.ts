// checkAdvertise: every shape of claim a node can send, as a table.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkAdvertise, type AdvertiseContext } from './advertise-check.js';

const base: AdvertiseContext = {
  node: 'edge-1',
  registered: [],
  source: '10.0.0.7',
  controllerListeners: [{ host: '10.0.0.1', port: 15012 }, { host: '0.0.0.0', port: 15013 }],
  isLocal: (ip) => ip === '10.0.0.7' || ip.startsWith('127.'),
};

describe('checkAdvertise', () => {
  const cases: [string, string, Partial<AdvertiseContext>, string][] = [
    ['own source address', '10.0.0.7:15008', {}, 'ok 10.0.0.7:15008'],
    ['source seen as IPv4-mapped IPv6', '10.0.0.7:15008', { source: '::ffff:10.0.0.7' }, 'ok 10.0.0.7:15008'],
    ['garbage', 'not-an-address', {}, 'malformed'],
    ['empty', '', {}, 'malformed'],
    ['port out of range', '10.0.0.7:99999', {}, 'malformed'],
    ['port zero', '10.0.0.7:0', {}, 'bad_port'],
    ['a name', 'node.example:15008', {}, 'not_ip'],
    ['octal IPv4', '010.0.0.7:15008', {}, 'not_ip'],
    ['zone ID', '[fe80::1%eth0]:15008', {}, 'not_ip'],
    ['IPv4 wildcard', '0.0.0.0:15008', {}, 'unspecified'],
    ['IPv6 wildcard', '[::]:15008', {}, 'unspecified'],
    ["another node's address", '10.0.0.8:15008', {}, 'not_own'],
    ['no source known', '10.0.0.7:15008', { source: undefined }, 'not_own'],
    ['registered address', '192.0.2.5:15008', { registered: ['192.0.2.5'] }, 'ok 192.0.2.5:15008'],
    ['registered IPv6, other spelling', '[2001:DB8:0::5]:15008', { registered: ['2001:db8::5'] }, 'ok [2001:db8::5]:15008'],
    ['source, once addresses are registered', '10.0.0.7:15008', { registered: ['192.0.2.5'] }, 'not_own'],
    ["controller's agent API", '10.0.0.1:15012', { source: '10.0.0.1' }, 'controller_address'],
    ["controller's wildcard federation listener, via a local address", '10.0.0.7:15013', {}, 'controller_address'],
    ['same port as the wildcard listener on another host', '192.0.2.5:15013', { registered: ['192.0.2.5'] }, 'ok 192.0.2.5:15013'],
  ];
  for (const [what, text, ctx, want] of cases) {
    it(what, () => {
      const d = checkAdvertise(text, { ...base, ...ctx });
      assert.equal(d.kind === 'ok' ? `ok ${d.advertise}` : d.reason, want, d.kind === 'refused' ? d.message : '');
      if (d.kind === 'refused') assert.ok(d.message.includes(`"${text}"`) && d.message.includes('expected'), d.message);
    });
  }
});
