// The BGP session state machine (RFC 4271 §8) as a pure function: state and
// event in, new state and actions out. The I/O layer (bgp-session.ts) performs
// the actions. This speaker only initiates connections (routers are told to
// be passive or simply get refused), so there is no collision handling.
import { AS_TRANS, BGP_VERSION, CapabilityCode, CeaseSubcode, ErrorCode, OpenSubcode } from './constants.js';
import type { BgpMessage, Notification, OpenMessage } from './messages.js';
import { describeNotification } from './notification-text.js';

export type SessionState = 'idle' | 'connect' | 'open-sent' | 'open-confirm' | 'established';
export type TimerName = 'hold' | 'keepalive' | 'connect-retry';

export interface FsmConfig {
  readonly localAs: number;
  readonly peerAs: number;
  readonly bgpId: string;
  /** Proposed hold time in seconds: 0 (no keepalives) or at least 3. */
  readonly holdTime: number;
  readonly families: readonly (4 | 6)[];
  readonly connectTimeoutMs: number;
  readonly backoffMinMs: number;
  readonly backoffMaxMs: number;
}

export interface Negotiated {
  readonly holdTime: number;
  readonly keepaliveMs: number;
  readonly fourOctetAs: boolean;
  readonly peerAs: number;
  readonly peerBgpId: string;
  readonly routeRefresh: boolean;
}

export interface FsmState {
  readonly state: SessionState;
  /** Consecutive failed attempts since the last Established; drives the backoff. */
  readonly failures: number;
  /** False after a manual stop: no automatic reconnection. */
  readonly running: boolean;
  readonly negotiated?: Negotiated;
}

export type FsmEvent =
  | { readonly kind: 'start' }
  | { readonly kind: 'stop'; readonly subcode?: number }
  | { readonly kind: 'tcp-connected' }
  | { readonly kind: 'tcp-failed'; readonly reason: string }
  | { readonly kind: 'tcp-closed' }
  | { readonly kind: 'message'; readonly message: BgpMessage }
  | { readonly kind: 'decode-error'; readonly notification: Notification }
  | { readonly kind: 'timer'; readonly timer: TimerName };

export type FsmAction =
  | { readonly kind: 'connect' }
  | { readonly kind: 'close' }
  | { readonly kind: 'send'; readonly message: BgpMessage }
  | { readonly kind: 'set-timer'; readonly timer: TimerName; readonly ms: number }
  | { readonly kind: 'clear-timer'; readonly timer: TimerName }
  | { readonly kind: 'established'; readonly negotiated: Negotiated }
  | { readonly kind: 'down'; readonly reason: string }
  | { readonly kind: 'received'; readonly message: BgpMessage };

export interface FsmResult {
  readonly state: FsmState;
  readonly actions: readonly FsmAction[];
}

/** RFC 4271 §10 suggests a large hold timer (4 minutes) until the OPEN arrives. */
export const OPEN_HOLD_MS = 240_000;

export const initialFsmState: FsmState = { state: 'idle', failures: 0, running: false };

export function backoffMs(cfg: FsmConfig, failures: number): number {
  return Math.min(cfg.backoffMaxMs, cfg.backoffMinMs * 2 ** Math.min(failures, 20));
}

export function buildOpen(cfg: FsmConfig): OpenMessage {
  return {
    type: 'open', version: BGP_VERSION, myAs: cfg.localAs > 0xffff ? AS_TRANS : cfg.localAs, holdTime: cfg.holdTime, bgpId: cfg.bgpId,
    capabilities: {
      multiprotocol: cfg.families.map((f) => ({ afi: f === 4 ? 1 : 2, safi: 1 })),
      routeRefresh: true, fourOctetAs: cfg.localAs, unknown: [],
    },
  };
}

/** Checks a received OPEN against our configuration (RFC 4271 §6.2, RFC 6793). */
export function negotiate(cfg: FsmConfig, open: OpenMessage): { kind: 'ok'; negotiated: Negotiated } | { kind: 'refuse'; notification: Notification } {
  const refuse = (subcode: number, data: Uint8Array = new Uint8Array(0)) => ({ kind: 'refuse' as const, notification: { code: ErrorCode.OPEN_MESSAGE, subcode, data } });
  const peerAs = open.capabilities.fourOctetAs ?? open.myAs;
  if (peerAs !== cfg.peerAs) return refuse(OpenSubcode.BAD_PEER_AS);
  if (open.holdTime === 1 || open.holdTime === 2) return refuse(OpenSubcode.UNACCEPTABLE_HOLD_TIME);
  if (open.bgpId === cfg.bgpId && peerAs === cfg.localAs) return refuse(OpenSubcode.BAD_BGP_IDENTIFIER);
  // Without the 4-octet capability the peer cannot carry our real AS number.
  if (open.capabilities.fourOctetAs === undefined && cfg.localAs > 0xffff) {
    return refuse(OpenSubcode.UNSUPPORTED_CAPABILITY, Uint8Array.from([CapabilityCode.FOUR_OCTET_AS, 0]));
  }
  const holdTime = Math.min(cfg.holdTime, open.holdTime);
  return {
    kind: 'ok',
    negotiated: {
      holdTime, keepaliveMs: Math.floor((holdTime * 1000) / 3), fourOctetAs: open.capabilities.fourOctetAs !== undefined,
      peerAs, peerBgpId: open.bgpId, routeRefresh: open.capabilities.routeRefresh,
    },
  };
}

const ALL_TIMERS: readonly TimerName[] = ['hold', 'keepalive', 'connect-retry'];

function goDown(s: FsmState, cfg: FsmConfig, reason: string, pre: FsmAction[] = []): FsmResult {
  const failures = s.failures + 1;
  const actions: FsmAction[] = [...pre, { kind: 'close' }, ...ALL_TIMERS.map((timer) => ({ kind: 'clear-timer' as const, timer })), { kind: 'down', reason }];
  if (s.running) actions.push({ kind: 'set-timer', timer: 'connect-retry', ms: backoffMs(cfg, failures - 1) });
  return { state: { state: 'idle', failures, running: s.running }, actions };
}

function notify(n: Notification): FsmAction {
  return { kind: 'send', message: { type: 'notification', ...n } };
}

function fsmError(s: FsmState, cfg: FsmConfig, got: string): FsmResult {
  // RFC 6608 subcodes: 1 unexpected in OpenSent, 2 in OpenConfirm, 3 in Established.
  const subcode = s.state === 'open-sent' ? 1 : s.state === 'open-confirm' ? 2 : 3;
  return goDown(s, cfg, `unexpected ${got} in ${s.state}`, [notify({ code: ErrorCode.FSM, subcode, data: new Uint8Array(0) })]);
}

function holdActions(n: Negotiated): FsmAction[] {
  return n.holdTime === 0 ? [] : [{ kind: 'set-timer', timer: 'hold', ms: n.holdTime * 1000 }];
}

function onMessage(s: FsmState, cfg: FsmConfig, m: BgpMessage): FsmResult {
  if (m.type === 'notification') return goDown(s, cfg, `peer sent NOTIFICATION ${describeNotification(m)}`);
  switch (s.state) {
    case 'open-sent': {
      if (m.type !== 'open') return fsmError(s, cfg, m.type);
      const r = negotiate(cfg, m);
      if (r.kind === 'refuse') return goDown(s, cfg, `refused OPEN: ${describeNotification(r.notification)}`, [notify(r.notification)]);
      const n = r.negotiated;
      const actions: FsmAction[] = [{ kind: 'send', message: { type: 'keepalive' } }, ...holdActions(n)];
      if (n.holdTime > 0) actions.push({ kind: 'set-timer', timer: 'keepalive', ms: n.keepaliveMs });
      return { state: { ...s, state: 'open-confirm', negotiated: n }, actions };
    }
    case 'open-confirm':
      if (m.type !== 'keepalive') return fsmError(s, cfg, m.type);
      return { state: { ...s, state: 'established', failures: 0 }, actions: [...holdActions(s.negotiated!), { kind: 'established', negotiated: s.negotiated! }] };
    case 'established':
      if (m.type === 'open') return fsmError(s, cfg, m.type);
      return { state: s, actions: [...holdActions(s.negotiated!), ...(m.type === 'keepalive' ? [] : [{ kind: 'received' as const, message: m }])] };
    default:
      return { state: s, actions: [] };
  }
}

export function step(s: FsmState, cfg: FsmConfig, e: FsmEvent): FsmResult {
  switch (e.kind) {
    case 'start':
      if (s.state !== 'idle') return { state: { ...s, running: true }, actions: [] };
      return { state: { ...s, state: 'connect', running: true }, actions: [{ kind: 'connect' }, { kind: 'set-timer', timer: 'connect-retry', ms: cfg.connectTimeoutMs }] };
    case 'stop': {
      const stopped = { ...s, running: false };
      const pre = s.state === 'idle' || s.state === 'connect' ? []
        : [notify({ code: ErrorCode.CEASE, subcode: e.subcode ?? CeaseSubcode.ADMINISTRATIVE_SHUTDOWN, data: new Uint8Array(0) })];
      if (s.state === 'idle') return { state: stopped, actions: ALL_TIMERS.map((timer) => ({ kind: 'clear-timer' as const, timer })) };
      return { ...goDown(stopped, cfg, 'stopped', pre), state: { state: 'idle', failures: 0, running: false } };
    }
    case 'tcp-connected':
      if (s.state !== 'connect') return { state: s, actions: [{ kind: 'close' }] };
      return {
        state: { ...s, state: 'open-sent' },
        actions: [{ kind: 'clear-timer', timer: 'connect-retry' }, { kind: 'send', message: buildOpen(cfg) }, { kind: 'set-timer', timer: 'hold', ms: OPEN_HOLD_MS }],
      };
    case 'tcp-failed':
      return s.state === 'idle' ? { state: s, actions: [] } : goDown(s, cfg, `connection failed: ${e.reason}`);
    case 'tcp-closed':
      return s.state === 'idle' ? { state: s, actions: [] } : goDown(s, cfg, 'connection closed by peer');
    case 'decode-error':
      if (s.state === 'idle' || s.state === 'connect') return { state: s, actions: [] };
      return goDown(s, cfg, `malformed message from peer: ${describeNotification(e.notification)}`, [notify(e.notification)]);
    case 'message':
      return onMessage(s, cfg, e.message);
    case 'timer':
      switch (e.timer) {
        case 'hold':
          if (s.state === 'idle' || s.state === 'connect') return { state: s, actions: [] };
          return goDown(s, cfg, 'hold timer expired', [notify({ code: ErrorCode.HOLD_TIMER_EXPIRED, subcode: 0, data: new Uint8Array(0) })]);
        case 'keepalive':
          if ((s.state !== 'open-confirm' && s.state !== 'established') || !s.negotiated) return { state: s, actions: [] };
          return { state: s, actions: [{ kind: 'send', message: { type: 'keepalive' } }, { kind: 'set-timer', timer: 'keepalive', ms: s.negotiated.keepaliveMs }] };
        case 'connect-retry':
          if (s.state === 'connect') return goDown(s, cfg, `no TCP connection within ${cfg.connectTimeoutMs} ms`);
          if (s.state === 'idle' && s.running) return step({ ...s, running: false }, cfg, { kind: 'start' });
          return { state: s, actions: [] };
      }
  }
}
