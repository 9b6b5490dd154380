// birdc output parsers on text captured from BIRD 2.0.12.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseBirdProtocol, parseBirdRouteEvents, parseBirdRoutes } from './bird-output.js';

const ROUTES = `BIRD 2.0.12 ready.
Table master4:
203.0.113.10/32      unicast [site_a 19:40:01.123] * (100) [AS65001i]
\tvia 198.51.100.2 on vabc123b0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65001
\tBGP.next_hop: 198.51.100.2
\tBGP.med: 10
\tBGP.local_pref: 100
\tBGP.community: (65001,100)
                     unicast [site_b 19:40:01.456] (100) [AS65001i]
\tvia 198.51.100.3 on vabc123b0
\tType: BGP univ
\tBGP.origin: IGP
\tBGP.as_path: 65001 65001 65001
\tBGP.next_hop: 198.51.100.3
\tBGP.med: 50
\tBGP.local_pref: 0
\tBGP.community: (65001,101) (65535,0)
`;

const PROTOCOL = `BIRD 2.0.12 ready.
Name       Proto      Table      State  Since         Info
site_a     BGP        ---        up     19:40:00.999  Established
  BGP state:          Established
    Neighbor address: 198.51.100.2
    Neighbor AS:      65001
    Local AS:         65000
    Hold timer:       2.512/3
    Keepalive timer:  0.301/1
`;

describe('birdc output parsers', () => {
  it('parses routes with their BGP attributes, primary first', () => {
    const r = parseBirdRoutes(ROUTES);
    assert.equal(r.length, 2);
    assert.deepEqual(r[0], { prefix: '203.0.113.10/32', protocol: 'site_a', primary: true, nextHop: '198.51.100.2', asPath: [65001], med: 10, localPref: 100, communities: ['65001:100'] });
    assert.deepEqual(r[1], { prefix: '203.0.113.10/32', protocol: 'site_b', primary: false, nextHop: '198.51.100.3', asPath: [65001, 65001, 65001], med: 50, localPref: 0, communities: ['65001:101', '65535:0'] });
    assert.deepEqual(parseBirdRoutes('BIRD 2.0.12 ready.\n'), []);
  });

  it('parses a BGP protocol\'s state and negotiated timers', () => {
    assert.deepEqual(parseBirdProtocol(PROTOCOL), { name: 'site_a', state: 'up', bgpState: 'Established', holdTime: 3, keepaliveTime: 1, lastError: undefined });
    assert.equal(parseBirdProtocol('garbage'), undefined);
  });

  it('reads route add/remove times from BIRD\'s trace log', () => {
    const log = [
      '2026-11-21 19:37:16.042 <TRACE> site_a.ipv4 > added [best] 203.0.113.10/32 0L 8G unicast',
      '2026-11-21 19:37:17.623 <TRACE> site_a.ipv4 > removed [replaced] 203.0.113.10/32 0L 8G unicast',
      '2026-11-21 19:37:17.700 <TRACE> site_b.ipv4 > removed [sole] 203.0.113.10/32 0L 7G unicast',
    ].join('\n');
    const [removed] = parseBirdRouteEvents(log, 'site_a', 'removed', '203.0.113.10/32');
    const [added] = parseBirdRouteEvents(log, 'site_a', 'added', '203.0.113.10/32');
    assert.equal(removed! - added!, 1581);
    assert.equal(new Date(removed!).getMinutes(), 37);
    assert.deepEqual(parseBirdRouteEvents(log, 'site_a', 'removed', '203.0.113.11/32'), []);
  });
});
