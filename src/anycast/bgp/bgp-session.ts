// One BGP session to one peer over TCP: performs the actions the pure state
// machine (session-fsm.ts) decides, owns the socket, framing and timers, and
// reports established/down/received to its owner (the speaker).
import { Socket, connect } from 'node:net';
import type { Logger } from '../../core/log.js';
import type { Clock, TimerHandle } from '../clock.js';
import { decodeBody, encodeMessage, readFrame } from './message-codec.js';
import type { BgpMessage, CodecContext } from './messages.js';
import { type FsmAction, type FsmConfig, type FsmEvent, type FsmState, type Negotiated, type SessionState, type TimerName, initialFsmState, step } from './session-fsm.js';

export interface PeerEndpoint {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
}

export type SessionEvent =
  | { readonly kind: 'established'; readonly negotiated: Negotiated; readonly localAddress: string }
  | { readonly kind: 'down'; readonly reason: string; readonly wasEstablished: boolean }
  | { readonly kind: 'received'; readonly message: BgpMessage };

export interface BgpSessionOptions {
  readonly fsm: FsmConfig;
  readonly peer: PeerEndpoint;
  readonly clock: Clock;
  readonly log: Logger;
  readonly onEvent: (e: SessionEvent) => void;
}

export class BgpSession {
  private fsmState: FsmState = initialFsmState;
  private socket: Socket | undefined;
  private rx: Buffer = Buffer.alloc(0);
  private readonly timers = new Map<TimerName, TimerHandle>();
  private closedWaiters: (() => void)[] = [];
  private stateSince: number;
  private local = '';

  constructor(private readonly opts: BgpSessionOptions) {
    this.stateSince = opts.clock.now();
  }

  get state(): SessionState {
    return this.fsmState.state;
  }

  get since(): number {
    return this.stateSince;
  }

  get negotiated(): Negotiated | undefined {
    return this.fsmState.state === 'established' ? this.fsmState.negotiated : undefined;
  }

  /** The address our side of the TCP connection uses: the default NEXT_HOP. */
  get localAddress(): string {
    return this.local;
  }

  get codec(): CodecContext {
    return { fourOctetAs: this.fsmState.negotiated?.fourOctetAs ?? true };
  }

  start(): void {
    this.dispatch({ kind: 'start' });
  }

  /** Sends Cease (when a session exists), closes, and resolves once the socket is gone. */
  async stop(): Promise<void> {
    const closed = this.socket ? new Promise<void>((resolve) => this.closedWaiters.push(resolve)) : Promise.resolve();
    this.dispatch({ kind: 'stop' });
    await closed;
  }

  /** Writes a message on an established session; resolves when the kernel has taken the bytes. */
  send(m: BgpMessage): Promise<void> {
    const s = this.socket;
    if (!s || this.fsmState.state !== 'established') return Promise.resolve();
    return new Promise((resolve) => s.write(encodeMessage(m, this.codec), () => resolve()));
  }

  private dispatch(e: FsmEvent): void {
    const before = this.fsmState.state;
    const r = step(this.fsmState, this.opts.fsm, e);
    this.fsmState = r.state;
    if (r.state.state !== before) this.stateSince = this.opts.clock.now();
    for (const a of r.actions) this.perform(a, before === 'established');
  }

  private perform(a: FsmAction, wasEstablished: boolean): void {
    switch (a.kind) {
      case 'connect': this.openSocket(); break;
      case 'close': this.closeSocket(); break;
      case 'send':
        this.socket?.write(encodeMessage(a.message, this.codec));
        break;
      case 'set-timer': {
        this.timers.get(a.timer)?.cancel();
        this.timers.set(a.timer, this.opts.clock.setTimeout(() => {
          this.timers.delete(a.timer);
          this.dispatch({ kind: 'timer', timer: a.timer });
        }, a.ms));
        break;
      }
      case 'clear-timer':
        this.timers.get(a.timer)?.cancel();
        this.timers.delete(a.timer);
        break;
      case 'established':
        this.opts.onEvent({ kind: 'established', negotiated: a.negotiated, localAddress: this.local });
        break;
      case 'down':
        this.opts.onEvent({ kind: 'down', reason: a.reason, wasEstablished });
        break;
      case 'received':
        this.opts.onEvent({ kind: 'received', message: a.message });
        break;
    }
  }

  private openSocket(): void {
    const { host, port, localAddress } = this.opts.peer;
    const s = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    this.socket = s;
    this.rx = Buffer.alloc(0);
    s.setNoDelay(true);
    s.on('connect', () => {
      if (this.socket !== s) return;
      this.local = s.localAddress ?? '';
      this.dispatch({ kind: 'tcp-connected' });
    });
    s.on('data', (chunk: Buffer) => {
      if (this.socket === s) this.onData(chunk);
    });
    s.on('error', (err) => {
      if (this.socket !== s) return;
      this.dispatch(s.connecting ? { kind: 'tcp-failed', reason: err.message } : { kind: 'tcp-closed' });
    });
    s.on('close', () => {
      if (this.socket === s) {
        this.dispatch({ kind: 'tcp-closed' });
        this.socket = undefined;
      }
      const waiters = this.closedWaiters;
      this.closedWaiters = [];
      for (const w of waiters) w();
    });
  }

  private closeSocket(): void {
    const s = this.socket;
    if (!s) return;
    this.socket = undefined;
    // end() flushes a pending NOTIFICATION first; destroy() bounds the wait.
    s.end();
    const t = setTimeout(() => s.destroy(), 1000);
    t.unref();
    s.once('close', () => clearTimeout(t));
  }

  private onData(chunk: Buffer): void {
    this.rx = this.rx.length === 0 ? chunk : Buffer.concat([this.rx, chunk]);
    while (this.socket) {
      const f = readFrame(this.rx);
      if (f.kind === 'incomplete') return;
      if (f.kind === 'error') {
        this.dispatch({ kind: 'decode-error', notification: f.notification });
        return;
      }
      this.rx = this.rx.subarray(f.length);
      const d = decodeBody(f.type, f.body, this.codec);
      this.dispatch(d.kind === 'ok' ? { kind: 'message', message: d.value } : { kind: 'decode-error', notification: d.notification });
    }
  }
}
