// Table tests for the session state machine: each row is a path of events
// from Idle and the state and actions it must produce.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { type FsmAction, type FsmConfig, type FsmEvent, type FsmState, backoffMs, buildOpen, initialFsmState, step } from './session-fsm.js';
import type { OpenMessage } from './messages.js';

const cfg: FsmConfig = { localAs: 65001, peerAs: 65000, bgpId: '192.0.2.2', holdTime: 3, families: [4], connectTimeoutMs: 5000, backoffMinMs: 1000, backoffMaxMs: 30000 };
const peerOpen = (over: Partial<OpenMessage> = {}, as4: number | null = 65000): FsmEvent => ({
  kind: 'message',
  message: { type: 'open', version: 4, myAs: 65000, holdTime: 3, bgpId: '192.0.2.1', capabilities: { multiprotocol: [{ afi: 1, safi: 1 }], routeRefresh: true, fourOctetAs: as4 ?? undefined, unknown: [] }, ...over },
});
const KA: FsmEvent = { kind: 'message', message: { type: 'keepalive' } };
const TO_OPEN_SENT: FsmEvent[] = [{ kind: 'start' }, { kind: 'tcp-connected' }];
const TO_ESTABLISHED: FsmEvent[] = [...TO_OPEN_SENT, peerOpen(), KA];

function run(events: FsmEvent[], c = cfg): { state: FsmState; last: readonly FsmAction[]; all: FsmAction[] } {
  let s = initialFsmState;
  let last: readonly FsmAction[] = [];
  const all: FsmAction[] = [];
  for (const e of events) {
    const r = step(s, c, e);
    s = r.state;
    last = r.actions;
    all.push(...r.actions);
  }
  return { state: s, last, all };
}

const sentNotification = (actions: readonly FsmAction[]): [number, number] | undefined => {
  const a = actions.find((x) => x.kind === 'send' && x.message.type === 'notification');
  return a && a.kind === 'send' && a.message.type === 'notification' ? [a.message.code, a.message.subcode] : undefined;
};

describe('session FSM', () => {
  const cases: { name: string; events: FsmEvent[]; state: string; notification?: [number, number]; check?: (r: ReturnType<typeof run>) => void }[] = [
    { name: 'start connects', events: [{ kind: 'start' }], state: 'connect', check: (r) => assert.ok(r.last.some((a) => a.kind === 'connect')) },
    {
      name: 'TCP up sends OPEN', events: TO_OPEN_SENT, state: 'open-sent',
      check: (r) => assert.deepEqual(r.last.find((a) => a.kind === 'send'), { kind: 'send', message: buildOpen(cfg) }),
    },
    {
      name: 'valid OPEN: KEEPALIVE, hold 3 s, keepalive every second', events: [...TO_OPEN_SENT, peerOpen()], state: 'open-confirm',
      check: (r) => {
        assert.ok(r.last.some((a) => a.kind === 'send' && a.message.type === 'keepalive'));
        assert.ok(r.last.some((a) => a.kind === 'set-timer' && a.timer === 'hold' && a.ms === 3000));
        assert.ok(r.last.some((a) => a.kind === 'set-timer' && a.timer === 'keepalive' && a.ms === 1000));
      },
    },
    {
      name: 'hold time is the smaller of the two', events: [...TO_OPEN_SENT, peerOpen({ holdTime: 90 })], state: 'open-confirm',
      check: (r) => assert.equal(r.state.negotiated?.holdTime, 3),
    },
    {
      name: 'peer hold 9 with ours 30 gives keepalive 3 s', events: [...TO_OPEN_SENT, peerOpen({ holdTime: 9 })], state: 'open-confirm',
      check: () => assert.equal(run([...TO_OPEN_SENT, peerOpen({ holdTime: 9 })], { ...cfg, holdTime: 30 }).state.negotiated?.keepaliveMs, 3000),
    },
    { name: 'KEEPALIVE in OpenConfirm establishes', events: TO_ESTABLISHED, state: 'established', check: (r) => assert.ok(r.last.some((a) => a.kind === 'established')) },
    { name: 'wrong peer AS is refused', events: [...TO_OPEN_SENT, peerOpen({ myAs: 65009 }, 65009)], state: 'idle', notification: [2, 2] },
    { name: 'hold time 2 is refused', events: [...TO_OPEN_SENT, peerOpen({ holdTime: 2 })], state: 'idle', notification: [2, 6] },
    { name: 'hold time 1 is refused', events: [...TO_OPEN_SENT, peerOpen({ holdTime: 1 })], state: 'idle', notification: [2, 6] },
    { name: 'hold time 0 is accepted (no keepalives)', events: [...TO_OPEN_SENT, peerOpen({ holdTime: 0 }), KA], state: 'established', check: (r) => assert.equal(r.state.negotiated?.holdTime, 0) },
    { name: 'UPDATE in OpenSent is an FSM error', events: [...TO_OPEN_SENT, { kind: 'message', message: { type: 'update', withdrawn: [], nlri: [], attributes: {} } }], state: 'idle', notification: [5, 1] },
    { name: 'OPEN in Established is an FSM error', events: [...TO_ESTABLISHED, peerOpen()], state: 'idle', notification: [5, 3] },
    { name: 'hold timer expiry sends NOTIFICATION 4', events: [...TO_ESTABLISHED, { kind: 'timer', timer: 'hold' }], state: 'idle', notification: [4, 0] },
    { name: 'malformed message is answered with its NOTIFICATION', events: [...TO_ESTABLISHED, { kind: 'decode-error', notification: { code: 3, subcode: 6, data: new Uint8Array(0) } }], state: 'idle', notification: [3, 6] },
    { name: 'stop sends Cease/administrative shutdown and does not reconnect', events: [...TO_ESTABLISHED, { kind: 'stop' }], state: 'idle', notification: [6, 2], check: (r) => assert.ok(!r.last.some((a) => a.kind === 'set-timer')) },
    {
      name: 'peer NOTIFICATION goes down and schedules a reconnect', events: [...TO_ESTABLISHED, { kind: 'message', message: { type: 'notification', code: 6, subcode: 4, data: new Uint8Array(0) } }], state: 'idle',
      check: (r) => {
        assert.equal(sentNotification(r.last), undefined);
        assert.ok(r.last.some((a) => a.kind === 'set-timer' && a.timer === 'connect-retry' && a.ms === 1000));
      },
    },
    {
      name: 'reconnect timer in Idle starts a new connection', events: [{ kind: 'start' }, { kind: 'tcp-failed', reason: 'refused' }, { kind: 'timer', timer: 'connect-retry' }], state: 'connect',
      check: (r) => assert.ok(r.last.some((a) => a.kind === 'connect')),
    },
    { name: 'connect timeout goes down', events: [{ kind: 'start' }, { kind: 'timer', timer: 'connect-retry' }], state: 'idle' },
    {
      name: 'received UPDATE is passed up and restarts the hold timer', events: [...TO_ESTABLISHED, { kind: 'message', message: { type: 'update', withdrawn: [], nlri: [], attributes: {} } }], state: 'established',
      check: (r) => assert.deepEqual(r.last.map((a) => a.kind), ['set-timer', 'received']),
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const r = run(c.events);
      assert.equal(r.state.state, c.state);
      if (c.notification) assert.deepEqual(sentNotification(r.last), c.notification);
      c.check?.(r);
    });
  }

  it('backs off exponentially up to the maximum and resets on Established', () => {
    const fails: FsmEvent[] = [{ kind: 'start' }];
    for (let i = 0; i < 8; i++) fails.push({ kind: 'tcp-failed', reason: 'refused' }, { kind: 'timer', timer: 'connect-retry' });
    const delays = run(fails).all.filter((a) => a.kind === 'set-timer' && a.timer === 'connect-retry' && a.ms !== cfg.connectTimeoutMs).map((a) => (a as { ms: number }).ms);
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    assert.equal(run([...fails, { kind: 'tcp-connected' }, peerOpen(), KA]).state.failures, 0);
    assert.equal(backoffMs(cfg, 100), 30000);
  });

  it('advertises AS_TRANS and the real AS for a 4-octet local AS', () => {
    const open = buildOpen({ ...cfg, localAs: 4200000001 });
    assert.equal(open.myAs, 23456);
    assert.equal(open.capabilities.fourOctetAs, 4200000001);
    const r = run([...TO_OPEN_SENT, peerOpen({}, null)], { ...cfg, localAs: 4200000001 });
    assert.deepEqual(sentNotification(r.last), [2, 7]);
  });
});
