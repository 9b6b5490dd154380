import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCa } from '../identity/local-ca.js';
import { parseTrustDomain } from '../identity/spiffe-id.js';
import { JoinTokenStore, caPin, parseJoinToken } from './join-tokens.js';

async function withStore(fn: (store: JoinTokenStore, ctx: { dir: string; caPem: string; clock: { t: number } }) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'entente-tokens-'));
  try {
    const ca = await LocalCa.loadOrCreate(join(dir, 'ca'), parseTrustDomain('tokens.test'));
    const clock = { t: 1_000_000 };
    await fn(new JoinTokenStore(join(dir, 'tokens.json'), () => clock.t), { dir, caPem: ca.caCertPem, clock });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('a token enrolls its node once; a replay is refused', () =>
  withStore(async (store, { caPem }) => {
    const { token } = store.create('edge-1', 'agent', 60_000, caPem);
    assert.deepEqual(store.redeem(token, 'edge-1', 'agent'), { kind: 'ok', node: 'edge-1', nodeKind: 'agent', addresses: [] });
    const replay = store.redeem(token, 'edge-1', 'agent');
    assert.equal(replay.kind === 'refused' && replay.code, 'TOKEN_REPLAYED');
  }));

test('an expired token is refused with the expiry time', () =>
  withStore(async (store, { caPem, clock }) => {
    const { token } = store.create('edge-1', 'agent', 60_000, caPem);
    clock.t += 60_001;
    const r = store.redeem(token, 'edge-1', 'agent');
    assert.equal(r.kind === 'refused' && r.code, 'TOKEN_EXPIRED');
    assert.match(r.kind === 'refused' ? r.reason : '', /expired at/);
  }));

test('a token is bound to its node name', () =>
  withStore(async (store, { caPem }) => {
    const { token } = store.create('edge-1', 'agent', 60_000, caPem);
    const r = store.redeem(token, 'edge-2', 'agent');
    assert.equal(r.kind === 'refused' && r.code, 'TOKEN_NODE_MISMATCH');
  }));

test('a token with a wrong secret, or unknown, or malformed, is refused', () =>
  withStore(async (store, { caPem }) => {
    const { token } = store.create('edge-1', 'agent', 60_000, caPem);
    const p = parseJoinToken(token);
    const wrongSecret = `ej1.${p.id}.${'A'.repeat(p.secret.length)}.${p.caPin}`;
    assert.equal(store.redeem(wrongSecret, 'edge-1', 'agent').kind, 'refused');
    assert.equal(store.redeem('ej1.nope', 'edge-1', 'agent').kind, 'refused');
    // The right token still works afterwards: failed guesses do not consume it.
    assert.equal(store.redeem(token, 'edge-1', 'agent').kind, 'ok');
  }));

test('tokens are stored only as hashes, in a 0600 file, and survive a restart', () =>
  withStore(async (store, { dir, caPem, clock }) => {
    const { token } = store.create('edge-1', 'gateway', 60_000, caPem);
    const file = join(dir, 'tokens.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    const text = await readFile(file, 'utf8');
    assert.ok(!text.includes(parseJoinToken(token).secret), 'the secret is not on disk');
    const reopened = new JoinTokenStore(file, () => clock.t);
    assert.deepEqual(reopened.redeem(token, 'edge-1', 'gateway'), { kind: 'ok', node: 'edge-1', nodeKind: 'gateway', addresses: [] });
  }));

test("a token is bound to its kind: an agent's token does not enroll a gateway, nor the reverse; the mismatch does not consume it", () =>
  withStore(async (store, { caPem }) => {
    const agent = store.create('edge-1', 'agent', 60_000, caPem).token;
    const gateway = store.create('gw-1', 'gateway', 60_000, caPem).token;
    for (const [token, node, asKind, made] of [[agent, 'edge-1', 'gateway', 'an agent'], [gateway, 'gw-1', 'agent', 'a gateway']] as const) {
      const r = store.redeem(token, node, asKind);
      assert.equal(r.kind === 'refused' && r.code, 'TOKEN_KIND_MISMATCH');
      assert.match(r.kind === 'refused' ? r.reason : '', new RegExp(`made for ${made}`));
    }
    assert.equal(store.redeem(agent, 'edge-1', 'agent').kind, 'ok');
  }));

test('addresses registered with a token come back at redemption and survive a restart', () =>
  withStore(async (store, { dir, caPem, clock }) => {
    const { token } = store.create('edge-1', 'agent', 60_000, caPem, ['10.0.0.5', '2001:db8::5']);
    const reopened = new JoinTokenStore(join(dir, 'tokens.json'), () => clock.t);
    assert.deepEqual(reopened.redeem(token, 'edge-1', 'agent'), { kind: 'ok', node: 'edge-1', nodeKind: 'agent', addresses: ['10.0.0.5', '2001:db8::5'] });
  }));

test('the token carries the pin of the CA public key', () =>
  withStore(async (store, { caPem }) => {
    const { token } = store.create('edge-1', 'agent', 60_000, caPem);
    assert.equal(parseJoinToken(token).caPin, caPin(caPem));
    assert.throws(() => parseJoinToken('not-a-token'), /malformed/);
  }));
