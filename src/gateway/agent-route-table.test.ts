// AgentRouteTable: mesh SNI names of our trust domain route on the node label.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { AgentRouteTable } from './agent-route-table.js';
import { EntenteError } from '../core/errors.js';

describe('AgentRouteTable', () => {
  const table = new AgentRouteTable('eu.example');
  table.replace(new Map([['node-a', { host: '127.0.1.1', port: 15008 }], ['Node-B', { host: '127.0.1.2', port: 15009 }]]));

  const cases: Array<[string, { host: string; port: number } | undefined]> = [
    ['web.default.node-a.eu.example', { host: '127.0.1.1', port: 15008 }],
    ['WEB.Default.NODE-A.EU.example', { host: '127.0.1.1', port: 15008 }],
    ['db.prod.node-b.eu.example', { host: '127.0.1.2', port: 15009 }],
    ['web.default.node-c.eu.example', undefined], // unknown node
    ['web.default.node-a.us.example', undefined], // another trust domain
    ['default.node-a.eu.example', undefined], // too few labels
    ['x.web.default.node-a.eu.example', undefined], // too many labels
    ['web.default.node-a.eu.example.', undefined],
    ['web_1.default.node-a.eu.example', undefined], // not a DNS label
    ['', undefined],
  ];
  for (const [sni, want] of cases) {
    it(`lookup(${JSON.stringify(sni)})`, () => assert.deepEqual(table.lookup(sni), want));
  }

  it('replace swaps the whole table and keeps the old one on a bad entry', () => {
    const t = new AgentRouteTable('eu.example');
    t.replace(new Map([['n1', { host: 'h', port: 1 }]]));
    assert.throws(() => t.replace(new Map([['n2', { host: 'h', port: 2 }], ['bad_node', { host: 'h', port: 3 }]])),
      (e: unknown) => e instanceof EntenteError && e.code === 'GATEWAY_BAD_ROUTE');
    assert.throws(() => t.replace(new Map([['n2', { host: 'h', port: 0 }]])), /invalid agent address/);
    assert.deepEqual(t.lookup('w.ns.n1.eu.example'), { host: 'h', port: 1 });
    t.replace(new Map([['n2', { host: 'h', port: 2 }]]));
    assert.equal(t.lookup('w.ns.n1.eu.example'), undefined);
    assert.equal(t.size, 1);
  });

  it('rejects a trust domain that is not a DNS name', () => {
    assert.throws(() => new AgentRouteTable('not a domain'), (e: unknown) => e instanceof EntenteError && e.code === 'GATEWAY_BAD_TRUST_DOMAIN');
  });
});
