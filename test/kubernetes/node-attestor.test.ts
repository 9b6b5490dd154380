// Node attestation by projected service-account token, against the API
// double's TokenReview over HTTPS: a token of the agents' account, for our
// audience and the node the agent claims, is accepted; every other case is
// refused with its own code (malformed, unknown, another audience, another
// account, another node, no node at all, the API server down).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { TokenReviewAttestor } from '../../src/kubernetes/node-attestor.js';
import { startApiFixture, type ApiFixture } from './api-fixture.js';

const jwt = (name: string): string => `eyJhbGciOiJSUzI1NiJ9.${Buffer.from(name).toString('base64url')}.c2ln`;
const AGENT = 'system:serviceaccount:entente-system:entente-agent';

describe('TokenReviewAttestor', () => {
  let fixture: ApiFixture;
  let attestor: TokenReviewAttestor;
  const pods = new Map([['entente-system/agent-old', { node: 'n3', uid: 'uid-old' }]]);
  before(async () => {
    fixture = await startApiFixture();
    const t = fixture.api.tokens;
    t.set(jwt('n1'), { username: AGENT, audiences: ['entente'], pod: 'agent-abc', node: 'n1' });
    t.set(jwt('other-aud'), { username: AGENT, audiences: ['vault'], pod: 'agent-abc', node: 'n1' });
    t.set(jwt('other-sa'), { username: 'system:serviceaccount:shop:web', audiences: ['entente'], pod: 'web-1', node: 'n1' });
    t.set(jwt('user'), { username: 'alice', audiences: ['entente'] });
    t.set(jwt('pod-only'), { username: AGENT, audiences: ['entente'], pod: 'agent-old', podUid: 'uid-old' });
    // A pod of the same name created again (another uid), while the reflector still holds the old one.
    t.set(jwt('pod-recreated'), { username: AGENT, audiences: ['entente'], pod: 'agent-old', podUid: 'uid-new' });
    t.set(jwt('pod-unknown'), { username: AGENT, audiences: ['entente'], pod: 'agent-new' });
    t.set(jwt('unbound'), { username: AGENT, audiences: ['entente'] });
    attestor = new TokenReviewAttestor({ transport: await fixture.transport(), audience: 'entente', serviceAccounts: ['entente-system/entente-agent'], podNode: (ns, pod, uid) => {
      const p = pods.get(`${ns}/${pod}`);
      return p && (uid === undefined || uid === p.uid) ? p.node : undefined;
    } });
  });
  after(async () => fixture?.close());

  it('accepts a token of the agents account, for our audience and the claimed node', async () => {
    assert.deepEqual(await attestor.attest(jwt('n1'), 'n1'), { ok: true, node: 'n1', account: 'entente-system/entente-agent', pod: 'agent-abc' });
    // Older clusters bind no node name: the node of the pod the token is bound to.
    assert.deepEqual(await attestor.attest(jwt('pod-only'), 'n3'), { ok: true, node: 'n3', account: 'entente-system/entente-agent', pod: 'agent-old', podUid: 'uid-old' });
  });

  it('refuses everything else, each with its code', async () => {
    const cases: [string, string, string][] = [
      ['not a jwt', 'n1', 'BAD_TOKEN'],
      [`${'a'.repeat(20_000)}.b.c`, 'n1', 'BAD_TOKEN'],
      [jwt('unknown'), 'n1', 'TOKEN_REJECTED'],
      [jwt('other-aud'), 'n1', 'TOKEN_REJECTED'],
      [jwt('other-sa'), 'n1', 'WRONG_ACCOUNT'],
      [jwt('user'), 'n1', 'WRONG_ACCOUNT'],
      [jwt('n1'), 'n2', 'NODE_MISMATCH'],
      [jwt('pod-only'), 'n1', 'NODE_MISMATCH'],
      [jwt('pod-unknown'), 'n1', 'NO_NODE'],
      [jwt('pod-recreated'), 'n3', 'NO_NODE'],
      [jwt('unbound'), 'n1', 'NO_NODE'],
    ];
    for (const [token, node, code] of cases) {
      const r = await attestor.attest(token, node);
      assert.equal(r.ok ? 'ok' : r.code, code, `${token.slice(0, 40)} as ${node}`);
    }
    const mismatch = await attestor.attest(jwt('n1'), 'n2');
    assert.equal(!mismatch.ok && mismatch.reason, 'the token is of node n1, not n2');
  });

  it('an API server that cannot review: refused as unavailable, not accepted', async () => {
    fixture.api.tokenReviewsUp = false;
    try {
      const r = await attestor.attest(jwt('n1'), 'n1');
      assert.equal(r.ok ? 'ok' : r.code, 'API_UNAVAILABLE');
    } finally {
      fixture.api.tokenReviewsUp = true;
    }
  });
});
